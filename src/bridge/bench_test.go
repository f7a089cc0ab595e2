package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkCall measures one echo call through the bridge, queue, pool and
// a real child, sequentially and in parallel.
func BenchmarkCall(b *testing.B) {
	for _, c := range []struct{ par, fast bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		b.Run(fmt.Sprintf("parallel=%v/fast=%v", c.par, c.fast), func(b *testing.B) {
			par := c.par
			e := newBenchEnv(b, c.fast)
			var n atomic.Int64
			call := func() {
				i := n.Add(1)
				if _, err := e.call(context.Background(), "echo", fmt.Sprintf(`{"i":%d}`, i)); err != nil {
					b.Error(err)
				}
			}
			b.ResetTimer()
			if !par {
				for b.Loop() {
					call()
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call()
				}
			})
		})
	}
}

// BenchmarkPoolCall is the floor under BenchmarkCall: the pool alone.
func BenchmarkPoolCall(b *testing.B) {
	for _, fast := range []bool{false, true} {
		b.Run(fmt.Sprintf("fast=%v", fast), func(b *testing.B) {
			e := newBenchEnv(b, fast)
			i := 0
			for b.Loop() {
				i++
				params, _ := json.Marshal(map[string]any{"name": "echo", "arguments": map[string]int{"i": i}})
				if _, err := e.pool.Call(context.Background(), "tools/call", params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
