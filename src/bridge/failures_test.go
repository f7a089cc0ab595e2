package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

func TestReadRetriedWhenChildKilled(t *testing.T) {
	e := newEnv(t, envOptions{children: 2})
	ch := e.async(t.Context(), "slow_read", `{"ms":3000,"note":"k"}`)
	first := e.waitEvent("the read to run", func(ev pooltest.Event) bool { return ev.Kind == "call" && ev.Note == "k" })
	e.kill(first.Pid)
	r := <-ch
	if r.err != nil {
		t.Fatalf("read after its child was killed: %v", r.err)
	}
	if r.res.Meta.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", r.res.Meta.Attempts)
	}
	pids := pooltest.Pids(pooltest.Filter(e.readEvents(), func(ev pooltest.Event) bool { return ev.Note == "k" }), "call")
	if len(pids) != 2 || pids[0] != first.Pid {
		t.Errorf("the read ran on children %v, want the killed %d then another", pids, first.Pid)
	}
	e.waitReady(2) // the killed child was replaced
}

func TestWriteOutcomeUnknownWhenChildKilled(t *testing.T) {
	e := newEnv(t, envOptions{children: 2})
	ch := e.async(t.Context(), "write", `{"entity_id":"lock.door","note":"w","ms":600000}`)
	start := e.waitEvent("the write to start", func(ev pooltest.Event) bool { return ev.Kind == "start" && ev.Note == "w" })
	e.kill(start.Pid)
	r := <-ch
	if !errors.Is(r.err, bridge.ErrOutcomeUnknown) {
		t.Fatalf("error = %v, want ErrOutcomeUnknown", r.err)
	}
	if n := len(callNotes(e.readEvents(), "write")); n != 1 {
		t.Errorf("the write reached children %d times, want once (never retried)", n)
	}
	e.waitReady(2)
	if _, err := e.call(t.Context(), "echo", `{}`); err != nil {
		t.Errorf("call after the child was replaced: %v", err)
	}
}

func TestAttemptTimeoutRetriesRead(t *testing.T) {
	e := newEnv(t, envOptions{bridge: bridge.Config{AttemptTimeout: 200 * time.Millisecond, RetryBackoff: time.Millisecond}})
	_, err := e.call(t.Context(), "slow_read", `{"ms":600000,"note":"slow"}`)
	if !errors.Is(err, bridge.ErrTimeout) {
		t.Fatalf("error = %v, want ErrTimeout", err)
	}
	if got := callNotes(e.readEvents(), "slow_read"); len(got) != 3 {
		t.Errorf("the read ran %d times, want 3 attempts", len(got))
	}
}

func TestHungChildReplaced(t *testing.T) {
	e := newEnv(t, envOptions{children: 2, pool: pool.Config{
		HealthCheckInterval: 100 * time.Millisecond, HealthCheckTimeout: 300 * time.Millisecond, StopTimeout: 200 * time.Millisecond,
	}})
	_, err := e.call(t.Context(), "hang", `{}`, func(r *bridge.Request) { r.Timeout = 500 * time.Millisecond })
	if !errors.Is(err, bridge.ErrTimeout) {
		t.Fatalf("calling hang: error = %v, want ErrTimeout", err)
	}
	hung := e.waitEvent("the hang", func(ev pooltest.Event) bool { return ev.Kind == "hang" })
	for i := range 20 {
		if _, err := e.call(t.Context(), "echo", fmt.Sprintf(`{"i":%d}`, i)); err != nil {
			t.Fatalf("call %d with a hung child: %v", i, err)
		}
	}
	waitFor(t, "the hung child to be replaced", func() bool { return pooltest.ProcessGone(hung.Pid) && e.pool.Stats().Restarts >= 1 })
	e.waitReady(2)
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	e := newEnv(t, envOptions{bridge: bridge.Config{Breaker: bridge.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: 300 * time.Millisecond}}})
	for i := range 2 { // crash is a write: its session dies, the outcome is unknown
		// Two different requests: a request that kills children again
		// counts once (TestRequestKillingChildrenDoesNotOpenBreaker).
		if _, err := e.call(t.Context(), "crash", fmt.Sprintf(`{"after_ms":%d}`, i)); !errors.Is(err, bridge.ErrOutcomeUnknown) {
			t.Fatalf("crash: error = %v, want ErrOutcomeUnknown", err)
		}
	}
	_, err := e.call(t.Context(), "echo", `{"note":"refused"}`)
	after, ok := bridge.RetryAfter(err)
	if !errors.Is(err, bridge.ErrCircuitOpen) || !ok || after < time.Second {
		t.Fatalf("error = %v (retry after %v), want ErrCircuitOpen with a retry delay", err, after)
	}
	if e.b.Stats().Breaker != "open" {
		t.Errorf("breaker state = %q, want open", e.b.Stats().Breaker)
	}
	if err := e.b.CallsRefused(); !errors.Is(err, bridge.ErrCircuitOpen) {
		t.Errorf("CallsRefused() = %v with the breaker open, want ErrCircuitOpen", err)
	}
	waitFor(t, "the breaker to let calls through again", func() bool {
		_, err := e.call(t.Context(), "echo", `{"note":"probe"}`)
		return err == nil
	})
	if got := e.b.Stats().Breaker; got != "closed" {
		t.Errorf("breaker state after a successful probe = %q, want closed", got)
	}
	if err := e.b.CallsRefused(); err != nil {
		t.Errorf("CallsRefused() = %v with the breaker closed, want nil", err)
	}
	if got := callNotes(e.readEvents(), "echo"); len(got) == 0 || got[0] != "probe" {
		t.Errorf("echo calls = %v: a refused call reached a child", got)
	}
}

func TestToolErrorsDoNotOpenBreaker(t *testing.T) {
	e := newEnv(t, envOptions{bridge: bridge.Config{Breaker: bridge.BreakerConfig{FailureThreshold: 2}}})
	for range 5 {
		res, err := e.call(t.Context(), "fail", `{}`)
		if err != nil || !res.Meta.IsError {
			t.Fatalf("fail: %v, isError %v; want an isError result", err, res.Meta.IsError)
		}
	}
	if got := e.b.Stats().Breaker; got != "closed" {
		t.Errorf("breaker = %q after tool errors, want closed", got)
	}
}

func TestShutdownDrainsCallsInFlight(t *testing.T) {
	e := newEnv(t, envOptions{children: 1})
	inflight := e.async(context.Background(), "slow_read", `{"ms":300,"note":"inflight"}`)
	e.waitEvent("the call to run", func(ev pooltest.Event) bool { return ev.Note == "inflight" })
	queued := e.async(context.Background(), "echo", `{"note":"queued"}`)
	waitFor(t, "a call to queue", func() bool { return e.b.Stats().Queue.Pending == 1 })

	e.stop() // returns once the call in flight has finished
	if r := <-inflight; r.err != nil {
		t.Errorf("call in flight during shutdown: %v", r.err)
	}
	if r := <-queued; !errors.Is(r.err, bridge.ErrClosed) {
		t.Errorf("queued call: error = %v, want ErrClosed", r.err)
	}
	if _, err := e.call(t.Context(), "echo", `{}`); !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("call after shutdown: error = %v, want ErrClosed", err)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		tool, args string
		want       error
	}{
		{"no_such_tool", `{}`, bridge.ErrUnknownTool},
		{"bad name", `{}`, bridge.ErrInvalidRequest},
		{"echo", `[1]`, bridge.ErrInvalidRequest},
		{"echo", `{"a":`, bridge.ErrInvalidRequest},
	}
	for _, tt := range tests {
		if _, err := e.call(t.Context(), tt.tool, tt.args); !errors.Is(err, tt.want) {
			t.Errorf("Call(%q, %s) error = %v, want %v", tt.tool, tt.args, err, tt.want)
		}
	}
	if s := e.b.Stats().Queue; s.Accepted != 0 {
		t.Errorf("%d bad requests were queued", s.Accepted)
	}
	_ = queue.ErrFull
}

func TestWriteFinishesWhenCallerLeaves(t *testing.T) {
	e := newEnv(t, envOptions{children: 2})
	ctx, cancel := context.WithCancel(t.Context())
	first := e.async(ctx, "write", `{"entity_id":"light.c","note":"c1","ms":300}`)
	e.waitEvent("c1 to start", func(ev pooltest.Event) bool { return ev.Kind == "start" && ev.Note == "c1" })
	cancel()
	if r := <-first; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("abandoned write: error = %v, want context.Canceled", r.err)
	}
	if _, err := e.call(t.Context(), "write", `{"entity_id":"light.c","note":"c2","ms":0}`); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, ev := range e.readEvents() {
		if ev.Tool == "write" && ev.Kind != "call" {
			order = append(order, ev.Note+":"+ev.Kind)
		}
	}
	want := []string{"c1:start", "c1:end", "c2:start", "c2:end"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("write events = %v, want %v: a started write must finish, holding its entity", order, want)
	}
}

func TestFallbackAnswersReadsWhenBreakerOpen(t *testing.T) {
	stale := json.RawMessage(`{"content":[{"type":"text","text":"stale"}]}`)
	var asked []string
	e := newEnv(t, envOptions{bridge: bridge.Config{
		Breaker: bridge.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour},
		Fallback: func(_ context.Context, req bridge.Request, cause error) (json.RawMessage, bool) {
			asked = append(asked, req.Tool)
			return stale, errors.Is(cause, bridge.ErrCircuitOpen)
		},
	}})
	if _, err := e.call(t.Context(), "crash", `{}`); !errors.Is(err, bridge.ErrOutcomeUnknown) {
		t.Fatalf("crash: %v", err)
	}
	res, err := e.call(t.Context(), "echo", `{"x":1}`)
	if err != nil || !res.Meta.Stale || string(res.Raw) != string(stale) {
		t.Errorf("read with the breaker open = %s (stale %v), %v; want the fallback's answer", res.Raw, res.Meta.Stale, err)
	}
	if _, err := e.call(t.Context(), "write", `{"entity_id":"a"}`); !errors.Is(err, bridge.ErrCircuitOpen) {
		t.Errorf("write with the breaker open: error = %v, want ErrCircuitOpen (writes fail fast)", err)
	}
	if fmt.Sprint(asked) != "[echo]" {
		t.Errorf("fallback asked for %v, want only the read", asked)
	}
}
