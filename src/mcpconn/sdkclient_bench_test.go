package mcpconn_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// BenchmarkSDKClientCall is BenchmarkCall with the Go SDK's own client
// (mcp.NewClient over mcp.CommandTransport) in place of a Session: the
// library the pool would use for its children instead of this package.
// Compare the two in one run:
//
//	go test -run x -bench 'Call' ./src/mcpconn
func BenchmarkSDKClientCall(b *testing.B) {
	for _, c := range benchChildren {
		b.Run(c.name, func(b *testing.B) {
			cs := sdkSession(b, c.opts)
			params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"x": 1}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.CallTool(b.Context(), params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSDKClientCallParallel is BenchmarkCallParallel with the SDK's
// client.
func BenchmarkSDKClientCallParallel(b *testing.B) {
	for _, c := range benchChildren {
		b.Run(c.name, func(b *testing.B) {
			cs := sdkSession(b, c.opts)
			params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"x": 1}}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := cs.CallTool(b.Context(), params); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func sdkSession(b *testing.B, opts pooltest.ChildOptions) *mcp.ClientSession {
	b.Helper()
	argv := pooltest.Command()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), pooltest.Env(opts)...)
	c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	cs, err := c.Connect(b.Context(), &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}
