package mcpconn_test

import (
	"encoding/json"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// benchChildren are the children benchmarks run against: go-sdk's server,
// and pooltest's hand-written one, which costs little enough that the
// session's own cost shows.
var benchChildren = []struct {
	name string
	opts pooltest.ChildOptions
}{{"sdk", pooltest.ChildOptions{}}, {"fast", pooltest.ChildOptions{Fast: true}}}

// BenchmarkCall measures one tools/call echo round trip through a real child.
func BenchmarkCall(b *testing.B) {
	for _, c := range benchChildren {
		b.Run(c.name, func(b *testing.B) {
			f := &fixture{logs: &syncBuffer{}}
			s, err := startForBench(b, f.config(c.opts))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Call(b.Context(), "tools/call", params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallParallel measures pipelined calls on one child.
func BenchmarkCallParallel(b *testing.B) {
	for _, c := range benchChildren {
		b.Run(c.name, func(b *testing.B) {
			f := &fixture{logs: &syncBuffer{}}
			s, err := startForBench(b, f.config(c.opts))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Call(b.Context(), "tools/call", params); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
