package pool_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestAutoscale(t *testing.T) {
	var queue atomic.Int64
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 1, 1, 3
		c.AutoScale = true
		c.ScaleInterval = 20 * time.Millisecond
		c.ScaleUpLatency = time.Millisecond
		c.IdleTimeout = 100 * time.Millisecond
		c.QueueLength = func() int { return int(queue.Load()) }
	})
	queue.Store(100)
	// Slow calls push the average response time over ScaleUpLatency.
	for range 3 {
		if _, err := callTool(t.Context(), h.p, "slow_read", map[string]any{"ms": 20}); err != nil {
			t.Fatal(err)
		}
	}
	h.waitStats(t, "3 ready children", func(s pool.Stats) bool { return s.Idle+s.Busy == 3 })
	if got := h.p.Capacity(); got != 3 {
		t.Errorf("Capacity() = %d, want 3", got)
	}
	queue.Store(0)
	h.waitStats(t, "a single child", func(s pool.Stats) bool { return s.Total == 1 && s.Idle == 1 })
	if s := h.p.Stats(); s.Restarts != 0 {
		t.Errorf("scaling counted as restarts: %+v", s)
	}
	runEchoes(t, h.p, 10)
}

func TestNoScaleUpWhenFast(t *testing.T) {
	var queue atomic.Int64
	queue.Store(100)
	var ticks atomic.Int64
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 1, 1, 3
		c.AutoScale = true
		c.ScaleInterval = 10 * time.Millisecond
		c.ScaleUpLatency = time.Hour
		c.QueueLength = func() int { ticks.Add(1); return int(queue.Load()) }
	})
	runEchoes(t, h.p, 5)
	for start := ticks.Load(); ticks.Load() < start+5; time.Sleep(5 * time.Millisecond) {
	}
	if s := h.p.Stats(); s.Total != 1 {
		t.Errorf("scaled up with fast calls: %+v", s)
	}
}

// Issue #9: with calls hung (a Home Assistant domain that does not
// answer), no call ended to raise the average, and the pool never grew.
func TestAutoscaleWhenEveryChildIsBusyWithLongCalls(t *testing.T) {
	var queue atomic.Int64
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 1, 1, 2
		c.AutoScale = true
		c.ScaleInterval = 20 * time.Millisecond
		c.ScaleUpLatency = 50 * time.Millisecond
		c.QueueLength = func() int { return int(queue.Load()) }
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := callTool(ctx, h.p, "slow_read", map[string]any{"ms": 600000})
		done <- err
	}()
	h.waitStats(t, "the long call to run", func(s pool.Stats) bool { return s.Busy == 1 })
	queue.Store(1) // a call waits behind it
	h.waitStats(t, "a second child", func(s pool.Stats) bool { return s.Idle == 1 && s.Busy == 1 })
	cancel()
	<-done
}
