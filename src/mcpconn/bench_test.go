package mcpconn_test

import (
	"encoding/json"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// BenchmarkCall measures one tools/call echo round trip through a real child.
func BenchmarkCall(b *testing.B) {
	f := &fixture{logs: &syncBuffer{}}
	cfg := f.config(pooltest.ChildOptions{})
	s, err := startForBench(b, cfg)
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
}

// BenchmarkCallParallel measures pipelined calls on one child.
func BenchmarkCallParallel(b *testing.B) {
	f := &fixture{logs: &syncBuffer{}}
	s, err := startForBench(b, f.config(pooltest.ChildOptions{}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	params := json.RawMessage(`{"name":"echo","arguments":{"x":1}}`)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Call(b.Context(), "tools/call", params); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
