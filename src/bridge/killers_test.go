package bridge_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// crashReads makes pooltest's crash tool a read, so that the bridge would
// retry it: a read whose payload kills its child.
func crashReads() map[string]bridge.ToolPolicy {
	tools := bridge.DefaultToolPolicies()
	tools["crash"] = bridge.ToolPolicy{Kind: bridge.KindRead}
	return tools
}

func crashes(events []pooltest.Event) int {
	n := 0
	for _, ev := range events {
		if ev.Kind == "crash" {
			n++
		}
	}
	return n
}

// Issue #9: a read that kills its child was retried on every other child
// (four children gone for one request).
func TestReadThatKillsItsChildIsNotRetriedAgain(t *testing.T) {
	e := newEnv(t, envOptions{children: 2, bridge: bridge.Config{Tools: crashReads(), MaxAttempts: 4}})
	_, err := e.call(t.Context(), "crash", `{}`)
	if !errors.Is(err, bridge.ErrKillsSessions) {
		t.Fatalf("error = %v, want ErrKillsSessions", err)
	}
	if got := crashes(e.readEvents()); got != 2 {
		t.Errorf("the read ended %d children, want 2 (one retry after a session loss)", got)
	}
	e.waitReady(2)
	if _, err := e.call(t.Context(), "crash", `{}`); !errors.Is(err, bridge.ErrKillsSessions) {
		t.Fatalf("repeat: error = %v, want ErrKillsSessions", err)
	}
	if got := crashes(e.readEvents()); got != 3 {
		t.Errorf("after a repeat, %d children ended, want 3: a known killer is not retried", got)
	}
}

// Issue #9: one client's request that kills children opened the breaker,
// and every client got 503 for its RecoveryTimeout.
func TestRequestKillingChildrenDoesNotOpenBreaker(t *testing.T) {
	e := newEnv(t, envOptions{children: 2, bridge: bridge.Config{
		Tools: crashReads(), Breaker: bridge.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour},
	}})
	for range 3 {
		if _, err := e.call(t.Context(), "crash", `{}`); err == nil {
			t.Fatal("crash succeeded")
		}
		e.waitReady(2)
	}
	if got := e.b.Stats().Breaker; got != "closed" {
		t.Fatalf("breaker = %q after one request killed children, want closed", got)
	}
	if _, err := e.call(t.Context(), "echo", `{}`); err != nil {
		t.Errorf("another client's call: %v", err)
	}
}

// Issue #9: timeouts a client chose shorter than the tool's opened the
// breaker for everyone.
func TestCallerChosenTimeoutsDoNotOpenBreaker(t *testing.T) {
	e := newEnv(t, envOptions{children: 2, bridge: bridge.Config{
		MaxAttempts: 1, Breaker: bridge.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour},
	}})
	for range 3 {
		_, err := e.call(t.Context(), "slow_read", `{"ms":600000}`, func(r *bridge.Request) { r.Timeout = 50 * time.Millisecond })
		if !errors.Is(err, bridge.ErrTimeout) {
			t.Fatalf("error = %v, want ErrTimeout", err)
		}
	}
	if got := e.b.Stats().Breaker; got != "closed" {
		t.Fatalf("breaker = %q after timeouts the caller chose, want closed", got)
	}
}

// Issue #9: with one domain's writes hung at Home Assistant, every session
// sat on them and reads timed out behind them.
func TestHungDomainLeavesSessionsForOthers(t *testing.T) {
	e := newEnv(t, envOptions{children: 2})
	hung := []<-chan callResult{
		e.async(t.Context(), "write", `{"entity_id":"switch.a","note":"s1","ms":600000}`),
		e.async(t.Context(), "write", `{"entity_id":"switch.b","note":"s2","ms":600000}`),
	}
	first := e.waitEvent("a switch write to start", func(ev pooltest.Event) bool { return ev.Kind == "start" && ev.Tool == "write" })
	if _, err := e.call(t.Context(), "echo", `{"x":1}`, func(r *bridge.Request) { r.Timeout = 10 * time.Second }); err != nil {
		t.Errorf("a read while switch writes hang: %v", err)
	}
	if _, err := e.call(t.Context(), "write", `{"entity_id":"light.a","note":"l"}`, func(r *bridge.Request) { r.Timeout = 10 * time.Second }); err != nil {
		t.Errorf("a light write while switch writes hang: %v", err)
	}
	// End the hung writes (their outcome is unknown): the second starts
	// once the first ends, as the group's one slot frees.
	e.kill(first.Pid)
	second := e.waitEvent("the other switch write to start", func(ev pooltest.Event) bool {
		return ev.Kind == "start" && ev.Tool == "write" && ev.Note != first.Note && ev.EntityID != "light.a"
	})
	e.kill(second.Pid)
	for _, ch := range hung {
		<-ch
	}
}
