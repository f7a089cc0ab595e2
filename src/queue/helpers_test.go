package queue

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// newQueue returns a queue running until the test ends; Run must return nil.
func newQueue(t *testing.T, cfg Config) *Queue {
	t.Helper()
	q, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	// Wait for Run to start, so that a job can start as it arrives (on its
	// caller's goroutine) as it would in a running queue.
	for started := false; !started; {
		runtime.Gosched()
		q.mu.Lock()
		started = q.started
		q.mu.Unlock()
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	return q
}

type result struct {
	out Outcome
	err error
}

// submit calls Do in a goroutine of the bubble and waits until it blocks,
// so that successive submits arrive in order.
func submit(ctx context.Context, q *Queue, j Job) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := q.Do(ctx, j)
		ch <- result{out, err}
	}()
	synctest.Wait()
	return ch
}

// recv returns the result on ch, failing if none is ready.
func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	default:
		t.Fatal("no result ready")
		return result{}
	}
}

// pending reports whether ch has no result yet.
func pending(ch <-chan result) bool { return len(ch) == 0 }

// value returns a JSON string value.
func value(s string) json.RawMessage { return json.RawMessage(strconv.Quote(s)) }

// gate is a job body that blocks until released or cancelled.
type gate struct {
	started   chan struct{}
	release   chan struct{}
	cancelled atomic.Bool
	runs      atomic.Int32
}

func newGate() *gate { return &gate{started: make(chan struct{}), release: make(chan struct{})} }

func (g *gate) run(name string) func(context.Context) (json.RawMessage, error) {
	return func(ctx context.Context) (json.RawMessage, error) {
		if g.runs.Add(1) == 1 {
			close(g.started)
		}
		select {
		case <-g.release:
			return value(name), nil
		case <-ctx.Done():
			g.cancelled.Store(true)
			return nil, ctx.Err()
		}
	}
}

func (g *gate) isStarted() bool {
	select {
	case <-g.started:
		return true
	default:
		return false
	}
}

// recorder records the order in which jobs run.
type recorder struct {
	mu    sync.Mutex
	order []string
}

func (r *recorder) job(name string, p Priority) Job {
	return Job{Priority: p, Run: r.run(name)}
}

func (r *recorder) run(name string) func(context.Context) (json.RawMessage, error) {
	return func(context.Context) (json.RawMessage, error) {
		r.mu.Lock()
		r.order = append(r.order, name)
		r.mu.Unlock()
		return value(name), nil
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

// blockWith occupies one slot with a gated job until the returned release is
// called; it waits for the job to start.
func blockWith(t *testing.T, q *Queue) (release func()) {
	t.Helper()
	g := newGate()
	ch := submit(t.Context(), q, Job{Run: g.run("blocker")})
	if !g.isStarted() {
		t.Fatal("blocker did not start")
	}
	return func() {
		close(g.release)
		synctest.Wait()
		if r := recv(t, ch); r.err != nil {
			t.Fatalf("blocker: %v", r.err)
		}
	}
}
