package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sessionChecker is a fakeChecker that also reports MCP sessions.
type sessionChecker struct {
	fakeChecker
	healthy int
	err     error
}

func (s *sessionChecker) HealthySessions(context.Context) (int, error) { return s.healthy, s.err }

func TestHealthSessions(t *testing.T) {
	intp := func(n int) *int { return &n }
	tests := []struct {
		name       string
		healthy    int
		err        error
		wantStatus int
		want       DependencyHealth
	}{
		{"sessions ready", 3, nil, http.StatusOK, DependencyHealth{Status: "ok", HealthyCount: intp(3)}},
		{"none ready", 0, nil, http.StatusServiceUnavailable, DependencyHealth{Status: "unavailable", HealthyCount: intp(0)}},
		{"failing", 0, errors.New("pool: no MCP session available: exec: not found"), http.StatusServiceUnavailable,
			DependencyHealth{Status: "unavailable", HealthyCount: intp(0), Error: "pool: no MCP session available: exec: not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checker := &sessionChecker{healthy: tt.healthy, err: tt.err}
			checker.set(time.Millisecond, nil)
			s := newTestServer(t, Config{Health: checker})
			r := do(s.Handler(), "GET", "/health", "", nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			var got Health
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			sessions := got.Dependencies["mcp_sessions"]
			sessions.ResponseTimeMS = 0
			if diff := cmp.Diff(tt.want, sessions); diff != "" {
				t.Errorf("mcp_sessions (-want +got):\n%s", diff)
			}
			if got.Dependencies["home_assistant"].Status != "ok" {
				t.Errorf("home_assistant = %+v, want ok", got.Dependencies["home_assistant"])
			}
		})
	}
}

// TestStatusPageSessions checks that the Ingress page shows the MCP
// sessions when the bridge runs them, and why none is ready.
func TestStatusPageSessions(t *testing.T) {
	checker := &sessionChecker{healthy: 4}
	s := newTestServer(t, Config{IngressAddr: "127.0.0.1:0", Health: checker})
	r := do(s.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil)
	if !strings.Contains(r.body, "MCP sessions") || !strings.Contains(r.body, "4 ready") {
		t.Errorf("status page lacks the 4 ready sessions:\n%s", r.body)
	}
	checker.healthy, checker.err = 0, errors.New(`starting child-1: exec: "nope": not found`)
	r = do(s.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil)
	for _, want := range []string{"none ready", "exec: &#34;nope&#34;: not found"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("status page without sessions lacks %q:\n%s", want, r.body)
		}
	}
	plain := newTestServer(t, Config{IngressAddr: "127.0.0.1:0"})
	if r := do(plain.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil); strings.Contains(r.body, "MCP sessions") {
		t.Errorf("status page shows MCP sessions without a SessionChecker:\n%s", r.body)
	}
}
