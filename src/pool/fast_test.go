package pool_test

import (
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// TestFastChild runs the load harness's child (pooltest's hand-written
// server) in a pool with pipelining: every caller gets its own answer, and
// each call runs exactly once.
func TestFastChild(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{Fast: true}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 2, 2, 2
		c.MaxInflightPerSession = 8
	})
	h.waitStats(t, "both children idle", func(s pool.Stats) bool { return s.Idle == 2 })
	if got := h.p.Capacity(); got != 16 {
		t.Errorf("Capacity() = %d, want 16", got)
	}
	runEchoes(t, h.p, 300)
	events := h.readEvents(t)
	if got := len(pooltest.Filter(events, func(e pooltest.Event) bool { return e.Kind == "call" })); got != 300 {
		t.Errorf("%d calls ran, want 300", got)
	}
	if got := len(pooltest.Pids(events, "initialized")); got != 2 {
		t.Errorf("%d children initialized, want 2", got)
	}
	if _, err := callTool(t.Context(), h.p, "counter", nil); err == nil {
		t.Error("a tool the fast child lacks succeeded")
	}
}
