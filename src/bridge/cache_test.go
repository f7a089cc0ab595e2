package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// callCounter counts the tools/call requests that reach the children.
type callCounter struct {
	bridge.Executor
	calls atomic.Int64
}

func (c *callCounter) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if method == "tools/call" {
		c.calls.Add(1)
	}
	return c.Executor.Call(ctx, method, params)
}

func cachedBridge(t *testing.T, exec bridge.Executor, kind bridge.Kind, onCall func(context.Context, bridge.Finished)) *bridge.Bridge {
	t.Helper()
	c, err := cache.New(cache.Config{Policies: map[string]cache.Policy{"echo": {TTL: time.Hour, Level: cache.LevelL1}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(bridge.Config{Executor: exec, Cache: c, Tools: map[string]bridge.ToolPolicy{"echo": {Kind: kind}}, OnCall: onCall})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// TestCallCache: a repeated read (in any spelling of its arguments) is
// answered from the cache without reaching a child; a call whose progress
// is routed to its caller, and every write, always reach one.
func TestCallCache(t *testing.T) {
	e := newEnv(t, envOptions{})
	t.Run("read", func(t *testing.T) {
		exec := &callCounter{Executor: e.pool}
		var finished, cachedFinished atomic.Int64
		b := cachedBridge(t, exec, bridge.KindRead, func(_ context.Context, f bridge.Finished) {
			finished.Add(1)
			if f.Result.Meta.Cached && f.Outcome == "ok" {
				cachedFinished.Add(1)
			}
		})
		first, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: json.RawMessage(`{"a":1,"b":"x"}`)})
		if err != nil || first.Meta.Cached {
			t.Fatalf("first call: cached %v, %v", first.Meta.Cached, err)
		}
		again, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: json.RawMessage(`{ "b":"x", "a":1 }`)})
		if err != nil || !again.Meta.Cached || string(again.Raw) != string(first.Raw) || exec.calls.Load() != 1 {
			t.Fatalf("second call: cached %v, raw %s, %d child calls, %v; want the first answer from the cache", again.Meta.Cached, again.Raw, exec.calls.Load(), err)
		}
		if again.Meta.Kind != bridge.KindRead || again.Meta.CacheExpires.IsZero() || again.Meta.IsError {
			t.Errorf("cached answer's meta %+v", again.Meta)
		}
		if finished.Load() != 2 || cachedFinished.Load() != 1 {
			t.Errorf("OnCall saw %d calls, %d of them cached and ok; want 2 and 1", finished.Load(), cachedFinished.Load())
		}
		routed, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: json.RawMessage(`{"a":1,"b":"x"}`), Meta: json.RawMessage(`{"progressToken":7}`)})
		if err != nil || routed.Meta.Cached || exec.calls.Load() != 2 {
			t.Errorf("a call with a progress token: cached %v, %d child calls, %v; want it run", routed.Meta.Cached, exec.calls.Load(), err)
		}
	})
	t.Run("write", func(t *testing.T) {
		exec := &callCounter{Executor: e.pool}
		b := cachedBridge(t, exec, bridge.KindWrite, nil)
		for i := range 2 {
			if res, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: json.RawMessage(`{"a":1}`)}); err != nil || res.Meta.Cached {
				t.Fatalf("write %d: cached %v, %v", i, res.Meta.Cached, err)
			}
		}
		if n := exec.calls.Load(); n != 2 {
			t.Errorf("%d child calls for two writes; want 2", n)
		}
	})
}

// gatedExecutor holds every tools/call until release is closed, saying on
// entered when one arrives.
type gatedExecutor struct {
	bridge.Executor
	entered chan struct{}
	release chan struct{}
}

func (g *gatedExecutor) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if method == "tools/call" {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Executor.Call(ctx, method, params)
}

// TestCachedJoinerTimesOut: a read that joins another caller's fill and
// reaches its own deadline first is a timeout (504 to REST clients), not an
// unclassified context error (which they would see as an internal error).
func TestCachedJoinerTimesOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	g := &gatedExecutor{Executor: e.pool, entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := cachedBridge(t, g, bridge.KindRead, nil)
	args := json.RawMessage(`{"a":"joined"}`)
	leader := make(chan error, 1)
	go func() {
		_, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: args, Timeout: time.Minute})
		leader <- err
	}()
	<-g.entered // the leader's fill is running
	_, err := b.Call(t.Context(), bridge.Request{Tool: "echo", Arguments: args, Timeout: 50 * time.Millisecond})
	var te *bridge.TimeoutError
	if !errors.As(err, &te) {
		t.Errorf("the joiner past its deadline got %v (%T); want a *bridge.TimeoutError", err, err)
	}
	close(g.release)
	if err := <-leader; err != nil {
		t.Errorf("the leader: %v", err)
	}
}
