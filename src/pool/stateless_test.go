package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// statelessCtx asks for a child in the 2026-07-28 protocol.
func statelessCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return mcpconn.WithHandlers(ctx, &mcpconn.Handlers{Exclusive: true, ProtocolVersion: mcpconn.StatelessProtocolVersion})
}

// TestStatelessChildren starts a child in the 2026-07-28 protocol on the
// first call that asks for one, beside the handshake-era child: there the
// child answers its own input_required result. Calls that do not ask keep
// to the handshake-era child.
func TestStatelessChildren(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) { c.MaxStatelessSessions = 1 })
	legacy := counterPid(t, h.p)
	raw, err := h.p.Call(statelessCtx(t), "tools/call", json.RawMessage(`{"name":"ask_name","arguments":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"resultType":"input_required"`) || !strings.Contains(string(raw), `"user_name"`) {
		t.Fatalf("ask_name on a stateless child answered %s; want its own input_required naming user_name", raw)
	}
	r, err := callTool(statelessCtx(t), h.p, "counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Pid int }
	if err := json.Unmarshal(r.StructuredContent, &c); err != nil || c.Pid == 0 || c.Pid == legacy {
		t.Errorf("a stateless call ran on child %d (%v); want another than the handshake-era child %d", c.Pid, err, legacy)
	}
	if got := counterPid(t, h.p); got != legacy {
		t.Errorf("a plain call ran on child %d; want the handshake-era child %d", got, legacy)
	}
	if s := h.p.Stats(); s.Total != 2 {
		t.Errorf("Stats().Total = %d; want 2 (one child per era)", s.Total)
	}
	if n := len(pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "initialized" })); n != 1 {
		t.Errorf("%d children were initialized; want 1 (the stateless child is not)", n)
	}
}

// TestStatelessFallback serves a call that asks for the 2026-07-28
// protocol on the handshake-era child when the children do not speak it,
// and asks only once.
func TestStatelessFallback(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{Fast: true}, nil)
	for i := range 3 {
		if _, err := h.p.Call(statelessCtx(t), "tools/call", json.RawMessage(`{"name":"echo","arguments":{"i":`+strconv.Itoa(i)+`}}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := len(pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "started" })); n != 2 {
		t.Errorf("%d children started; want 2 (the child and one that refused server/discover)", n)
	}
	if s := h.p.Stats(); s.Total != 1 || s.Failing {
		t.Errorf("Stats() = %+v; want the one child, not failing", s)
	}
	if !strings.Contains(h.logs.String(), "do not speak the 2026-07-28 protocol") {
		t.Errorf("the log does not say why:\n%s", h.logs)
	}
}

// TestStatelessBusyFallsBack serves a call that asks for the 2026-07-28
// protocol on another child when every stateless child is busy, rather
// than making it wait.
func TestStatelessBusyFallsBack(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) { c.MaxStatelessSessions = 1 })
	legacy := counterPid(t, h.p)
	if _, err := callTool(statelessCtx(t), h.p, "echo", nil); err != nil { // starts the stateless child
		t.Fatal(err)
	}
	busy := make(chan error, 1)
	go func() {
		_, err := callTool(statelessCtx(t), h.p, "slow_read", map[string]any{"ms": 3000, "note": "hold"})
		busy <- err
	}()
	h.waitEvents(t, 1, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == "hold" })
	r, err := callTool(statelessCtx(t), h.p, "counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Pid int }
	if err := json.Unmarshal(r.StructuredContent, &c); err != nil || c.Pid != legacy {
		t.Errorf("with the stateless child busy, a call ran on %d (%v); want the handshake-era child %d", c.Pid, err, legacy)
	}
	if err := <-busy; err != nil {
		t.Error(err)
	}
}

// TestStatelessRestartFallsBack serves a call that asks for the 2026-07-28
// protocol on the handshake-era child while the only stateless child waits
// out its restart backoff after a crash, rather than making every such
// call wait for it: one client's crashing call must not stall the others.
func TestStatelessRestartFallsBack(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MaxStatelessSessions = 1
		c.RestartBackoffMin, c.RestartBackoffMax = time.Hour, time.Hour
	})
	legacy := counterPid(t, h.p)
	if _, err := callTool(statelessCtx(t), h.p, "echo", nil); err != nil { // starts the stateless child
		t.Fatal(err)
	}
	if _, err := callTool(statelessCtx(t), h.p, "crash", map[string]any{"after_ms": 0}); err == nil {
		t.Fatal("crash answered")
	}
	r, err := callTool(statelessCtx(t), h.p, "counter", nil)
	if err != nil {
		t.Fatalf("with the stateless child in restart backoff: %v; want the call served by the handshake-era child", err)
	}
	var c struct{ Pid int }
	if err := json.Unmarshal(r.StructuredContent, &c); err != nil || c.Pid != legacy {
		t.Errorf("a call ran on %d (%v); want the handshake-era child %d", c.Pid, err, legacy)
	}
}

// TestStatelessChildDoesNotHideStartFailures fails a call that does not
// ask for the 2026-07-28 protocol fast, with ErrUnavailable, when the
// handshake-era children cannot start, even though a stateless child is
// ready: that child can never serve the call, so waiting for it hangs the
// call until its deadline.
func TestStatelessChildDoesNotHideStartFailures(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{FailInitialize: true}, func(c *pool.Config) {
		c.MaxStatelessSessions = 1
		c.RestartBackoffMin, c.RestartBackoffMax = time.Hour, time.Hour
	})
	if _, err := callTool(statelessCtx(t), h.p, "echo", nil); err != nil { // the stateless child starts and serves
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := callTool(ctx, h.p, "echo", nil); !errors.Is(err, pool.ErrUnavailable) {
		t.Errorf("a plain call with no handshake-era child able to start: %v; want ErrUnavailable at once", err)
	}
}
