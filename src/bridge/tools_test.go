package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// countingExecutor passes calls to the real pool, counting tools/list.
type countingExecutor struct {
	bridge.Executor
	lists atomic.Int64
}

func (c *countingExecutor) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if method == "tools/list" {
		c.lists.Add(1)
	}
	return c.Executor.Call(ctx, method, params)
}

func TestToolListCache(t *testing.T) {
	e := newEnv(t, envOptions{})
	counter := &countingExecutor{Executor: e.pool}
	b, err := bridge.New(bridge.Config{Executor: counter, ToolsTTL: time.Hour, ToolsRefreshMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	l, err := b.ListTools(t.Context(), -1)
	if err != nil || l.Cached || len(l.Tools) != len(pooltest.Tools) || !l.Expires.After(l.FetchedAt) {
		t.Fatalf("first ListTools = %d tools, cached %v, %v", len(l.Tools), l.Cached, err)
	}
	if _, err := b.Call(t.Context(), bridge.Request{Tool: "echo"}); err != nil {
		t.Fatal(err)
	}
	// An unknown name refreshes at most once per ToolsRefreshMin.
	for range 3 {
		if _, err := b.Call(t.Context(), bridge.Request{Tool: "nope"}); !errors.Is(err, bridge.ErrUnknownTool) {
			t.Fatalf("unknown tool: error = %v", err)
		}
	}
	if n := counter.lists.Load(); n != 1 {
		t.Errorf("%d tools/list calls, want 1 (cached, refresh rate-limited)", n)
	}
	if l, _ := b.ListTools(t.Context(), -1); !l.Cached {
		t.Error("ListTools did not use the cache")
	}
	if l, _ := b.ListTools(t.Context(), 0); l.Cached || counter.lists.Load() != 2 {
		t.Errorf("ListTools with max age 0 was cached (%v) or did not fetch (%d lists)", l.Cached, counter.lists.Load())
	}
}
