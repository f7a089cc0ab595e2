package httpapi

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
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

// waitStart waits for the pooltest write with note to start and returns
// its child's pid.
func (e *restEnv) waitStart(note string) int {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ev, _ := pooltest.ReadEvents(e.events)
		for _, x := range ev {
			if x.Kind == "start" && x.Note == note {
				return x.Pid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("the write %q never started", note)
	return 0
}

// Issue #9: a write that timed out was reported as "the MCP session died
// during the call … queue: execution cancelled after every caller left:
// bridge: call timed out".
func TestRESTTimedOutWriteSaysWhatHappened(t *testing.T) {
	e := newRESTEnv(t, 2, bridge.Config{}, MCPConfig{})
	holder := make(chan reply, 1)
	go func() {
		holder <- e.post("/mcp/tools/call", `{"name":"write","arguments":{"entity_id":"switch.a","note":"holder","ms":600000}}`)
	}()
	holderPid := e.waitStart("holder")

	// Queued behind the holder's lock on switch.a: never sent.
	r := e.post("/mcp/tools/call", `{"name":"write","arguments":{"entity_id":"switch.a","note":"queued"}}`, "X-Timeout", "0.2")
	checkTimeout(t, "queued write", r, "the write was not sent", "not_applied")
	r = e.post("/mcp/tools/call", `{"name":"write","arguments":{"entity_id":"switch.a","note":"queued"},"request_id":"q1"}`, "X-Timeout", "0.2")
	checkTimeout(t, "queued write with a request_id", r, "the write was not sent", "not_applied")

	// Running on the other child when its time runs out: sent.
	r = e.post("/mcp/tools/call", `{"name":"write","arguments":{"entity_id":"light.b","note":"hung","ms":600000}}`, "X-Timeout", "0.3")
	checkTimeout(t, "hung write", r, "may or may not have been applied", "unknown")

	if err := syscall.Kill(holderPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-holder
}

func checkTimeout(t *testing.T, what string, r reply, says, outcome string) {
	t.Helper()
	msg := string(r.raw)
	if r.status != http.StatusGatewayTimeout || r.errorCode() != CodeTimeout || !strings.Contains(msg, "timed out") || !strings.Contains(msg, says) {
		t.Errorf("%s: %d %s; want 504 %d saying it timed out and %q", what, r.status, msg, CodeTimeout, says)
	}
	for _, internal := range []string{"queue:", "bridge:", "session died", "context deadline"} {
		if strings.Contains(msg, internal) {
			t.Errorf("%s: the answer shows internal detail %q: %s", what, internal, msg)
		}
	}
	data, _ := r.body["error"].(map[string]any)["data"].(map[string]any)
	if data["outcome"] != outcome {
		t.Errorf("%s: error.data = %v, want outcome %q", what, data, outcome)
	}
}
