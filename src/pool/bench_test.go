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
func benchPool(b *testing.B, opts pooltest.ChildOptions, n, inflight int) *pool.Pool {
	b.Helper()
	p, err := pool.New(pool.Config{
		Command: pooltest.Command(), Env: pooltest.Env(opts),
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

// benchChildren are go-sdk's server and pooltest's fast hand-written one,
// which costs little enough that the pool's own cost shows.
var benchChildren = []struct {
	name string
	opts pooltest.ChildOptions
}{{"sdk", pooltest.ChildOptions{}}, {"fast", pooltest.ChildOptions{Fast: true}}}

// BenchmarkCall is one echo round trip through the pool and a real child.
func BenchmarkCall(b *testing.B) {
	for _, c := range benchChildren {
		b.Run(c.name, func(b *testing.B) {
			p := benchPool(b, c.opts, 1, 1)
			params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Call(b.Context(), "tools/call", params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallParallel spreads concurrent echoes over 4 children, and
// (pipelined) over 2 fast ones.
func BenchmarkCallParallel(b *testing.B) {
	for _, c := range []struct {
		name               string
		opts               pooltest.ChildOptions
		children, inflight int
	}{{"sdk", pooltest.ChildOptions{}, 4, 1}, {"fast", pooltest.ChildOptions{Fast: true}, 2, 8}} {
		b.Run(c.name, func(b *testing.B) {
			p := benchPool(b, c.opts, c.children, c.inflight)
			params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Call(b.Context(), "tools/call", params); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
