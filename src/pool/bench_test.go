package pool_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// benchPool runs a pool of n real children for a benchmark.
func benchPool(b *testing.B, n, inflight int) *pool.Pool {
	b.Helper()
	p, err := pool.New(pool.Config{
		Command: pooltest.Command(), Env: pooltest.Env(pooltest.ChildOptions{}),
		MinSessions: n, TargetSessions: n, MaxSessions: n, MaxInflightPerSession: inflight,
		HealthCheckInterval: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(30 * time.Second); p.Capacity() < n*inflight; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("children never became ready")
		}
	}
	return p
}

// BenchmarkCall is one echo round trip through the pool and a real child.
func BenchmarkCall(b *testing.B) {
	p := benchPool(b, 1, 1)
	params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Call(b.Context(), "tools/call", params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallParallel spreads concurrent echoes over 4 children.
func BenchmarkCallParallel(b *testing.B) {
	p := benchPool(b, 4, 1)
	params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Call(b.Context(), "tools/call", params); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
