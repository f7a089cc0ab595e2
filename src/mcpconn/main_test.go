package mcpconn_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) {
	pooltest.Main()
	os.Exit(m.Run())
}

// fixture is one test's child configuration.
type fixture struct {
	events string // the child's events file
	logs   *syncBuffer
}

// newFixture registers the goroutine-leak check (it runs after every other
// cleanup) and makes an events file.
func newFixture(t *testing.T) *fixture {
	t.Cleanup(func() { pooltest.NoLeakedGoroutines(t, "/src/mcpconn/") })
	return &fixture{events: filepath.Join(t.TempDir(), "events.jsonl"), logs: &syncBuffer{}}
}

func (f *fixture) config(opts pooltest.ChildOptions) mcpconn.Config {
	opts.File = f.events
	return mcpconn.Config{
		Command:     pooltest.Command(),
		Env:         pooltest.Env(opts),
		Name:        "test-child",
		StopTimeout: 10 * time.Second,
		Logger:      zerolog.New(f.logs),
	}
}

// start starts a session and closes it at the end of the test, checking
// that the child is gone.
func (f *fixture) start(t *testing.T, cfg mcpconn.Config) *mcpconn.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := mcpconn.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		f.checkNoOrphans(t)
	})
	return s
}

// checkNoOrphans fails t if any process that ever ran as a child (or
// grandchild) of this test still exists.
func (f *fixture) checkNoOrphans(t *testing.T) {
	t.Helper()
	events, err := pooltest.ReadEvents(f.events)
	if err != nil {
		t.Fatal(err)
	}
	pids := append(pooltest.Pids(events, "started"), pooltest.Pids(events, "grandchild")...)
	pooltest.CheckGone(t, pids...)
}

func (f *fixture) readEvents(t *testing.T) []pooltest.Event {
	t.Helper()
	events, err := pooltest.ReadEvents(f.events)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// waitEvent polls the events file until one matches, failing after 20 s.
func (f *fixture) waitEvent(t *testing.T, match func(pooltest.Event) bool) pooltest.Event {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, e := range f.readEvents(t) {
			if match(e) {
				return e
			}
		}
	}
	t.Fatalf("no matching event in %s", f.events)
	return pooltest.Event{}
}

// callTool calls tools/call and parses the result.
func callTool(ctx context.Context, s *mcpconn.Session, name string, args any) (toolResult, error) {
	return pooltest.CallTool(ctx, s, name, args)
}

type toolResult = pooltest.ToolResult

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func startForBench(b *testing.B, cfg mcpconn.Config) (*mcpconn.Session, error) {
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	return mcpconn.Start(ctx, cfg)
}
