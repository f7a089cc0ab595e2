package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// Issue #9: failed authentications were not limited, so the token could be
// guessed at network speed; and they were not logged.
func TestAuthFailuresLimitedPerAddress(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Config{APIToken: testToken, MaxAuthFailures: 3, Routes: withEcho, Logger: zerolog.New(&logs)})
	const attacker, other = "192.0.2.1:4000", "192.0.2.2:4000"
	try := func(remote, token string) response {
		return do(s.Handler(), "GET", "/echo", remote, map[string]string{"Authorization": "Bearer " + token})
	}
	for i := range 3 {
		if r := try(attacker, "guess-"+strconv.Itoa(i)); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
		}
	}
	for _, token := range []string{"guess-3", testToken} { // the right token too: a hit must not stand out
		r := try(attacker, token)
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || err != nil || secs < 1 || !strings.Contains(r.body, `"code":-31002`) {
			t.Errorf("over the limit: %d Retry-After %q %s; want 429 with Retry-After and a JSON error", r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	if r := try(other, testToken); r.status != http.StatusOK {
		t.Errorf("another address: status %d, want 200", r.status)
	}
	if r := do(s.Handler(), "GET", "/health", attacker, nil); r.status != http.StatusOK {
		t.Errorf("health from the limited address: status %d, want 200", r.status)
	}
	if got := strings.Count(logs.String(), "authentication failed"); got < 3 {
		t.Errorf("%d failures logged, want every one:\n%s", got, logs.String())
	}
	if strings.Contains(logs.String(), "guess-") || strings.Contains(logs.String(), testToken) {
		t.Errorf("the log shows a token:\n%s", logs.String())
	}
}

func TestAuthFailuresWindowEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestServer(t, Config{APIToken: testToken, MaxAuthFailures: 1, AuthFailureWindow: time.Minute, Routes: withEcho})
		try := func(token string) int {
			return do(s.Handler(), "GET", "/echo", "192.0.2.1:4000", map[string]string{"Authorization": "Bearer " + token}).status
		}
		if got := []int{try("a"), try(testToken)}; got[0] != http.StatusUnauthorized || got[1] != http.StatusTooManyRequests {
			t.Fatalf("statuses %v, want [401 429]", got)
		}
		time.Sleep(time.Minute)
		if got := try(testToken); got != http.StatusOK {
			t.Errorf("after the window: status %d, want 200", got)
		}
	})
}

// TestMissingTokenNotCounted answers 401 to requests without a token but
// does not count them against the address: they guess nothing, and clients
// probe without one (mcp-remote's OAuth discovery before every start).
func TestMissingTokenNotCounted(t *testing.T) {
	s := newTestServer(t, Config{APIToken: testToken, MaxAuthFailures: 3, Routes: withEcho})
	const client = "192.0.2.7:4000"
	for i := range 10 {
		if r := do(s.Handler(), "GET", "/.well-known/oauth-protected-resource", client, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("probe %d without a token: status %d, want 401", i+1, r.status)
		}
	}
	if r := do(s.Handler(), "GET", "/echo", client, map[string]string{"Authorization": "Bearer " + testToken}); r.status != http.StatusOK {
		t.Errorf("the right token after 10 tokenless probes: status %d, want 200", r.status)
	}
}
