package mcphttp_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
)

// TestSSESessionOwner refuses messages to an HTTP+SSE session from any
// principal but the one that opened it, as Streamable HTTP does (see
// TestSessionOwner): the session id is unknown to them (404).
func TestSSESessionOwner(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{Identity: func(r *http.Request) string { return r.Header.Get("X-Test-User") }}})
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Test-User", "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	endpoint := ""
	for sc := bufio.NewScanner(resp.Body); endpoint == "" && sc.Scan(); {
		if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			endpoint = strings.TrimSpace(d)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || !strings.Contains(endpoint, "sessionid=") {
		t.Fatalf("endpoint event %q: %v", endpoint, err)
	}
	post := func(user string) int {
		req, _ := http.NewRequest(http.MethodPost, s.url+u.RequestURI(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, other := range []string{"mallory", ""} {
		if got := post(other); got != http.StatusNotFound {
			t.Errorf("a message from %q to alice's SSE session: %d; want 404", other, got)
		}
	}
	if got := post("alice"); got != http.StatusAccepted {
		t.Errorf("a message from alice to her own SSE session: %d; want 202", got)
	}
}
