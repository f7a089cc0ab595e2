package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestMain(m *testing.M) {
	pooltest.Main() // serves MCP and exits when started as a child
	os.Exit(m.Run())
}

// env is a bridge in front of a pool of real pooltest children.
type env struct {
	t      testing.TB
	b      *bridge.Bridge
	pool   *pool.Pool
	events string // the children's events file

	stopBridge context.CancelFunc
	bridgeDone chan error
}

type envOptions struct {
	children int  // fixed pool size; 0 means 2
	fast     bool // pooltest's fast child (echo only) instead of go-sdk's
	bridge   bridge.Config
	pool     pool.Config
}

// newEnv starts the children and the bridge; both stop in t.Cleanup, the
// bridge first so that calls in flight can finish on the children.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	n := o.children
	if n == 0 {
		n = 2
	}
	e := &env{t: t, events: filepath.Join(t.TempDir(), "events.jsonl")}
	pc := o.pool
	pc.Command = pooltest.Command()
	pc.Env = pooltest.Env(pooltest.ChildOptions{File: e.events, Fast: o.fast})
	pc.MinSessions, pc.MaxSessions, pc.TargetSessions = n, n, n
	if pc.RestartBackoffMin == 0 {
		pc.RestartBackoffMin, pc.RestartBackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}
	p, err := pool.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	bc := o.bridge
	bc.Executor = p
	bc.Capacity = p.Capacity
	bc.Sessions = func() bridge.SessionStats {
		s := p.Stats()
		return bridge.SessionStats{Active: s.Busy + s.Idle, Total: s.Total, ByStatus: s.ByStatus}
	}
	b, err := bridge.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	e.b, e.pool = b, p

	poolCtx, stopPool := context.WithCancel(context.Background())
	poolDone := make(chan error, 1)
	go func() { poolDone <- p.Run(poolCtx) }()
	bctx, stopBridge := context.WithCancel(context.Background())
	e.stopBridge, e.bridgeDone = stopBridge, make(chan error, 1)
	go func() { e.bridgeDone <- b.Run(bctx) }()
	t.Cleanup(func() {
		e.stop()
		stopPool()
		if err := <-poolDone; err != nil {
			t.Errorf("pool.Run: %v", err)
		}
	})
	e.waitReady(n)
	return e
}

// stop stops the bridge (idempotent) and waits for Run to return.
func (e *env) stop() {
	e.stopBridge()
	if ch := e.bridgeDone; ch != nil {
		if err := <-ch; err != nil {
			e.t.Errorf("bridge.Run: %v", err)
		}
		e.bridgeDone = nil
	}
}

// waitReady waits until n children can take calls and the queue follows.
func (e *env) waitReady(n int) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%d ready children", n), func() bool {
		return e.pool.Capacity() >= n && e.b.Stats().Queue.Concurrency >= n
	})
}

// call runs a tool call with a generous default timeout.
func (e *env) call(ctx context.Context, tool, args string, mod ...func(*bridge.Request)) (bridge.Result, error) {
	req := bridge.Request{Tool: tool, Arguments: json.RawMessage(args), Timeout: time.Minute}
	for _, f := range mod {
		f(&req)
	}
	return e.b.Call(ctx, req)
}

// async runs call in a goroutine; the test waits on the returned channel.
func (e *env) async(ctx context.Context, tool, args string, mod ...func(*bridge.Request)) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		r, err := e.call(ctx, tool, args, mod...)
		ch <- callResult{r, err}
	}()
	return ch
}

type callResult struct {
	res bridge.Result
	err error
}

// readEvents returns the children's events so far.
func (e *env) readEvents() []pooltest.Event {
	e.t.Helper()
	ev, err := pooltest.ReadEvents(e.events)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// waitEvent waits for an event matching keep and returns it.
func (e *env) waitEvent(what string, keep func(pooltest.Event) bool) pooltest.Event {
	e.t.Helper()
	var found pooltest.Event
	waitFor(e.t, what, func() bool {
		for _, ev := range e.readEvents() {
			if keep(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// kill SIGKILLs a child started by the pool.
func (e *env) kill(pid int) {
	e.t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		e.t.Fatalf("killing child %d: %v", pid, err)
	}
}

// waitFor polls cond until it holds, failing t after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// structured returns the structuredContent of an echo result.
func structured(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	var r struct {
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("decoding result %s: %v", raw, err)
	}
	return r.StructuredContent
}

// collect waits for every result.
func collect(chs ...<-chan callResult) []callResult {
	out := make([]callResult, len(chs))
	var wg sync.WaitGroup
	for i, ch := range chs {
		wg.Go(func() { out[i] = <-ch })
	}
	wg.Wait()
	return out
}

// newBenchEnv is newEnv for benchmarks: as many children as CPUs, or one
// pipelined fast child.
func newBenchEnv(b *testing.B, fast bool) *env {
	if fast {
		return newEnv(b, envOptions{children: 1, fast: true, pool: pool.Config{MaxInflightPerSession: 32}})
	}
	return newEnv(b, envOptions{children: runtime.NumCPU()})
}
