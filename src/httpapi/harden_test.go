package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// deepCall is issue #9's 2 KB request: arguments nested 1000 levels deep.
func deepCall(tool string) string {
	return `{"name":"` + tool + `","arguments":{"search":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}}`
}

// Issue #9: a deeply nested request ended the children, the breaker opened
// and every client got 503 while /health said healthy.
func TestRESTDeepRequestRefusedBeforeAnyChild(t *testing.T) {
	e := newRESTEnv(t, 2, bridge.Config{Breaker: bridge.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}}, MCPConfig{})
	for _, tool := range []string{"echo", "write"} {
		r := e.post("/mcp/tools/call", deepCall(tool))
		if r.status != http.StatusBadRequest || r.errorCode() != CodeInvalidParams {
			t.Errorf("%s nested 1000 deep: status %d code %d: %s; want 400 %d", tool, r.status, r.errorCode(), r.raw, CodeInvalidParams)
		}
		if msg := string(r.raw); !strings.Contains(msg, "nested too deeply") {
			t.Errorf("%s nested 1000 deep: answer %s does not say why", tool, msg)
		}
	}
	if got := e.bridge.Stats().Breaker; got != "closed" {
		t.Errorf("breaker = %q, want closed", got)
	}
	if r := e.post("/mcp/tools/call", `{"name":"echo","arguments":{"a":1}}`); r.status != http.StatusOK {
		t.Errorf("another call: status %d: %s", r.status, r.raw)
	}
	if s := e.pool.Stats(); s.Restarts != 0 {
		t.Errorf("%d children restarted: the request reached one", s.Restarts)
	}
}
