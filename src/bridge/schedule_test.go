package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// block occupies one child with a slow read until the returned release is
// called; it waits until the child is running it.
func (e *env) block(note string) (release func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.async(ctx, "slow_read", fmt.Sprintf(`{"ms":600000,"note":%q}`, note))
	e.waitEvent("the blocker to run", func(ev pooltest.Event) bool { return ev.Kind == "call" && ev.Note == note })
	return func() {
		cancel()
		<-ch
	}
}

func withPriority(p queue.Priority) func(*bridge.Request) {
	return func(r *bridge.Request) { r.Priority = &p }
}

// callNotes returns the notes of tool's "call" events in execution order.
func callNotes(events []pooltest.Event, tool string) []string {
	var notes []string
	for _, ev := range events {
		if ev.Kind == "call" && ev.Tool == tool {
			notes = append(notes, ev.Note)
		}
	}
	return notes
}

func TestPrioritiesServedInOrder(t *testing.T) {
	e := newEnv(t, envOptions{children: 1, bridge: bridge.Config{Queue: queue.Config{AgingInterval: time.Hour}}})
	release := e.block("blocker")
	var chs []<-chan callResult
	// Arrive least urgent first, so that arrival order alone would be wrong.
	for i, p := range []queue.Priority{queue.Bulk, queue.Low, queue.Medium, queue.High, queue.Critical} {
		chs = append(chs, e.async(t.Context(), "echo", fmt.Sprintf(`{"note":%q}`, p), withPriority(p)))
		waitFor(t, "the call to be queued", func() bool { return e.b.Stats().Queue.Pending == i+1 })
	}
	release()
	for _, r := range collect(chs...) {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	got := callNotes(e.readEvents(), "echo")
	want := []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "BULK"}
	if !slices.Equal(got, want) {
		t.Errorf("execution order = %v, want %v", got, want)
	}
}

func TestBulkNotStarved(t *testing.T) {
	e := newEnv(t, envOptions{children: 1, bridge: bridge.Config{Queue: queue.Config{AgingInterval: 20 * time.Millisecond}}})
	ctx, stopFlood := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 { // keep HIGH calls always waiting
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				e.call(ctx, "echo", fmt.Sprintf(`{"w":%d,"i":%d}`, w, i), withPriority(queue.High))
			}
		})
	}
	waitFor(t, "HIGH calls to queue up", func() bool { return e.b.Stats().Queue.Pending >= 2 })
	// Without aging this call would wait for ever: a HIGH call is always
	// waiting when the child frees up.
	res, err := e.call(t.Context(), "echo", `{"note":"bulk"}`, withPriority(queue.Bulk))
	stopFlood()
	wg.Wait()
	if err != nil {
		t.Fatalf("BULK call: %v", err)
	}
	if res.Meta.Priority != "BULK" {
		t.Errorf("BULK call served with priority %q", res.Meta.Priority)
	}
}

func TestSameEntityWritesSerialised(t *testing.T) {
	e := newEnv(t, envOptions{children: 3, bridge: bridge.Config{Queue: queue.Config{AgingInterval: time.Hour}}})
	write := func(entity, note string, ms int, mod ...func(*bridge.Request)) <-chan callResult {
		return e.async(t.Context(), "write", fmt.Sprintf(`{"entity_id":%q,"note":%q,"ms":%d}`, entity, note, ms), mod...)
	}
	first := write("light.a", "a1", 600000)
	a1 := e.waitEvent("a1 to start", func(ev pooltest.Event) bool { return ev.Kind == "start" && ev.Note == "a1" })

	// Later writes to light.a wait, in arrival order, whatever their priority.
	var later []<-chan callResult
	for i, p := range []queue.Priority{queue.Low, queue.Critical, queue.Medium} {
		later = append(later, write("light.a", fmt.Sprintf("a%d", i+2), 0, withPriority(p)))
		waitFor(t, "the write to queue", func() bool { return e.b.Stats().Queue.Pending == i+1 })
	}
	// A write to another entity overlaps the running one.
	if r := <-write("light.b", "b1", 0); r.err != nil {
		t.Fatalf("write to light.b: %v", r.err)
	}
	if n := len(pooltest.Filter(e.readEvents(), func(ev pooltest.Event) bool { return ev.Kind == "start" && ev.EntityID == "light.a" })); n != 1 {
		t.Fatalf("%d writes to light.a started while a1 runs, want 1", n)
	}

	// Killing a1's child ends a1 with an unknown outcome and frees light.a.
	e.kill(a1.Pid)
	if r := <-first; !errors.Is(r.err, bridge.ErrOutcomeUnknown) {
		t.Fatalf("a1 error = %v, want ErrOutcomeUnknown", r.err)
	}
	for _, r := range collect(later...) {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	var starts []string
	for _, ev := range e.readEvents() {
		if ev.Kind == "start" && ev.EntityID == "light.a" {
			starts = append(starts, ev.Note)
		}
	}
	if want := []string{"a1", "a2", "a3", "a4"}; !slices.Equal(starts, want) {
		t.Errorf("writes to light.a started in order %v, want %v", starts, want)
	}
	// a1 was not retried: it started once.
	if n := len(callNotes(e.readEvents(), "write")); n != 5 {
		t.Errorf("%d write calls reached children, want 5 (no retry of a1)", n)
	}
}

func TestIdenticalReadsExecuteOnce(t *testing.T) {
	e := newEnv(t, envOptions{children: 1})
	release := e.block("blocker")
	var chs []<-chan callResult
	for range 10 {
		chs = append(chs, e.async(t.Context(), "echo", `{"note":"same","x":[1,2]}`))
	}
	waitFor(t, "callers to join one call", func() bool { return e.b.Stats().Queue.Deduplicated == 9 })
	release()
	shared := 0
	for _, r := range collect(chs...) {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := structured(t, r.res.Raw); got["note"] != "same" {
			t.Errorf("answer = %v", got)
		}
		if r.res.Meta.Deduplicated {
			shared++
		}
	}
	if shared != 9 {
		t.Errorf("%d answers marked deduplicated, want 9", shared)
	}
	if got := callNotes(e.readEvents(), "echo"); len(got) != 1 {
		t.Errorf("echo executed %d times, want once", len(got))
	}
}

func TestRequestIDNotExecutedTwice(t *testing.T) {
	e := newEnv(t, envOptions{})
	withID := func(r *bridge.Request) { r.RequestID, r.SessionID = "rid-1", "s1" }
	args := `{"entity_id":"switch.x","note":"once","ms":50}`
	first, err := e.call(t.Context(), "write", args, withID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.call(t.Context(), "write", args, withID)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Meta.Replayed || string(again.Raw) != string(first.Raw) {
		t.Errorf("repeat: replayed %v, raw %s; want the first answer %s replayed", again.Meta.Replayed, again.Raw, first.Raw)
	}
	// Another session's request with the same id is its own call.
	if _, err := e.call(t.Context(), "write", args, func(r *bridge.Request) { r.RequestID, r.SessionID = "rid-1", "s2" }); err != nil {
		t.Fatal(err)
	}
	if got := callNotes(e.readEvents(), "write"); len(got) != 2 {
		t.Errorf("write executed %d times, want 2 (once per session)", len(got))
	}
}

func TestCancelRemovesQueuedCall(t *testing.T) {
	e := newEnv(t, envOptions{children: 1})
	release := e.block("blocker")
	ctx, cancel := context.WithCancel(t.Context())
	ch := e.async(ctx, "echo", `{"note":"gone"}`)
	waitFor(t, "the call to queue", func() bool { return e.b.Stats().Queue.Pending == 1 })
	cancel()
	if r := <-ch; !errors.Is(r.err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", r.err)
	}
	if p := e.b.Stats().Queue.Pending; p != 0 {
		t.Errorf("%d calls still queued", p)
	}
	release()
	if _, err := e.call(t.Context(), "echo", `{"note":"after"}`); err != nil {
		t.Fatal(err)
	}
	if got := callNotes(e.readEvents(), "echo"); !slices.Equal(got, []string{"after"}) {
		t.Errorf("echo calls = %v, want only [after]", got)
	}
}

func TestQueueFullFailsAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{children: 1, bridge: bridge.Config{Queue: queue.Config{MaxSize: 2}}})
	release := e.block("blocker")
	chs := []<-chan callResult{e.async(t.Context(), "echo", `{"n":1}`), e.async(t.Context(), "echo", `{"n":2}`)}
	waitFor(t, "the queue to fill", func() bool { return e.b.Stats().Queue.Pending == 2 })
	if _, err := e.call(t.Context(), "echo", `{"n":3}`); !errors.Is(err, queue.ErrFull) {
		t.Errorf("error = %v, want queue.ErrFull", err)
	}
	release()
	for _, r := range collect(chs...) {
		if r.err != nil {
			t.Error(r.err)
		}
	}
}
