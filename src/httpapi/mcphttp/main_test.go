package mcphttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// everything is the Go SDK's conformance server, built once: a real stdio
// MCP child with every kind of tool, resource and prompt, and child
// requests (sampling, elicitation, roots).
var everything string

func TestMain(m *testing.M) {
	pooltest.Main() // serves MCP and exits when started as a child
	dir, err := os.MkdirTemp("", "mcphttp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	everything = filepath.Join(dir, "everything-server")
	cmd := exec.Command("go", "build", "-o", everything, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building everything-server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is MCP over HTTP in front of a bridge and a pool of everything
// servers, served on a loopback test server at /mcp and /sse.
type stack struct {
	url     string // base URL
	bridge  *bridge.Bridge
	pool    *pool.Pool
	handler *mcphttp.Handler
}

type stackOptions struct {
	children int    // default 2
	inflight int    // calls per child; default 1
	events   string // if set, the children are pooltest's, recording here
	fast     bool   // with events: pooltest's hand-written children
	cached   string // if set, this tool's answers are cached for a minute
	// handshakeOnly keeps every call on children in the handshake era,
	// as with children that do not speak 2026-07-28.
	handshakeOnly bool
	cfg           mcphttp.Config
	onCall        func(context.Context, bridge.Finished) // the bridge's Config.OnCall
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.children == 0 {
		o.children = 2
	}
	var b *bridge.Bridge
	command, env := []string{everything}, []string(nil)
	if o.events != "" {
		command, env = pooltest.Command(), pooltest.Env(pooltest.ChildOptions{File: o.events, Fast: o.fast})
	}
	stateless := 0
	if o.handshakeOnly {
		stateless = -1
	}
	p, err := pool.New(pool.Config{
		Command: command, Env: env, MaxStatelessSessions: stateless,
		MinSessions: o.children, MaxSessions: o.children, TargetSessions: o.children,
		MaxInflightPerSession: o.inflight,
		ClientCapabilities:    json.RawMessage(`{"sampling":{},"elicitation":{"form":{}},"roots":{"listChanged":true}}`),
		LogLevel:              "debug",
		Handlers: func(child string) *mcpconn.Handlers {
			return &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) { b.Notify(child, method, params) }}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	bc := bridge.Config{Executor: p, Capacity: p.Capacity, Queue: queue.Config{}, OnCall: o.onCall}
	if o.cached != "" {
		c, err := cache.New(cache.Config{Policies: map[string]cache.Policy{o.cached: {TTL: time.Minute, Level: cache.LevelL1}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		bc.Cache = c
		// The everything server marks no tool read-only; reads alone are cached.
		bc.Tools = map[string]bridge.ToolPolicy{o.cached: {Kind: bridge.KindRead}}
	}
	b, err = bridge.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	cfg.Core, cfg.Version = b, "test"
	h, err := mcphttp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h.Streamable())
	mux.Handle("/sse", h.SSE())
	srv := httptest.NewServer(mux)

	poolCtx, stopPool := context.WithCancel(context.Background())
	poolDone := make(chan error, 1)
	go func() { poolDone <- p.Run(poolCtx) }()
	bctx, stopBridge := context.WithCancel(context.Background())
	bridgeDone := make(chan error, 1)
	go func() { bridgeDone <- b.Run(bctx) }()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		stopBridge()
		<-bridgeDone
		h.Close()
		stopPool()
		<-poolDone
	})
	return &stack{url: srv.URL, bridge: b, pool: p, handler: h}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
