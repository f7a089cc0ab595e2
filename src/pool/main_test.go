package pool_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) {
	pooltest.Main()
	os.Exit(m.Run())
}

// harness runs one pool of pooltest children for a test.
type harness struct {
	p      *pool.Pool
	events string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	runErr error
}

// newHarness starts a pool of one child (adjust with mutate) and, at the
// end of the test, stops it and checks that no process or goroutine is left.
func newHarness(t *testing.T, opts pooltest.ChildOptions, mutate func(*pool.Config)) *harness {
	t.Helper()
	t.Cleanup(func() { pooltest.NoLeakedGoroutines(t, "/src/pool/", "/src/mcpconn/") })
	h := &harness{events: filepath.Join(t.TempDir(), "events.jsonl"), logs: &syncBuffer{}, done: make(chan error, 1)}
	opts.File = h.events
	cfg := pool.Config{
		Command:             pooltest.Command(),
		Env:                 pooltest.Env(opts),
		MinSessions:         1,
		TargetSessions:      1,
		MaxSessions:         1,
		HealthCheckInterval: -1,
		RestartBackoffMin:   10 * time.Millisecond,
		RestartBackoffMax:   200 * time.Millisecond,
		StopTimeout:         10 * time.Second,
		Logger:              zerolog.New(h.logs),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := pool.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.p = p
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- p.Run(ctx) }()
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		h.checkNoOrphans(t)
	})
	return h
}

// stop ends Run and waits for it.
func (h *harness) stop() error {
	h.once.Do(func() {
		h.cancel()
		h.runErr = <-h.done
	})
	return h.runErr
}

func (h *harness) checkNoOrphans(t *testing.T) {
	t.Helper()
	events := h.readEvents(t)
	pids := append(pooltest.Pids(events, "started"), pooltest.Pids(events, "grandchild")...)
	pooltest.CheckGone(t, pids...)
}

func (h *harness) readEvents(t *testing.T) []pooltest.Event {
	t.Helper()
	events, err := pooltest.ReadEvents(h.events)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// waitEvents polls the events file until n events match.
func (h *harness) waitEvents(t *testing.T, n int, match func(pooltest.Event) bool) []pooltest.Event {
	t.Helper()
	var got []pooltest.Event
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = pooltest.Filter(h.readEvents(t), match); len(got) >= n {
			return got
		}
	}
	t.Fatalf("got %d matching events, want %d: %+v", len(got), n, got)
	return nil
}

// waitStats polls Stats until ok accepts it.
func (h *harness) waitStats(t *testing.T, what string, ok func(pool.Stats) bool) pool.Stats {
	t.Helper()
	var s pool.Stats
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s = h.p.Stats(); ok(s) {
			return s
		}
	}
	t.Fatalf("stats never showed %s: %+v", what, s)
	return s
}

// callTool calls tools/call and parses the result.
func callTool(ctx context.Context, p *pool.Pool, name string, args any) (toolResult, error) {
	return pooltest.CallTool(ctx, p, name, args)
}

type toolResult = pooltest.ToolResult

// counterPid calls the counter tool and returns the answering child's pid.
func counterPid(t *testing.T, p *pool.Pool) int {
	t.Helper()
	r, err := callTool(t.Context(), p, "counter", nil)
	if err != nil {
		t.Fatalf("counter: %v", err)
	}
	var c struct{ Pid int }
	if err := json.Unmarshal(r.StructuredContent, &c); err != nil || c.Pid == 0 {
		t.Fatalf("counter result %s: %v", r.StructuredContent, err)
	}
	return c.Pid
}

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
