package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// overlapTracker records, per key, how many jobs hold it at once and the
// order in which they start, to check exclusion and ordering.
type overlapTracker struct {
	mu       sync.Mutex
	holders  map[string]int // current jobs per key
	writing  map[string]bool
	order    map[string][]string
	starts   map[string]time.Time
	running  int
	maxTotal int
	bad      []string // violations
}

func newTracker() *overlapTracker {
	return &overlapTracker{holders: map[string]int{}, writing: map[string]bool{}, order: map[string][]string{}, starts: map[string]time.Time{}}
}

// job returns a job holding keys for d of (fake) time.
func (o *overlapTracker) job(name string, p Priority, write bool, d time.Duration, keys ...string) Job {
	return Job{Priority: p, Write: write, Locks: keys, Run: func(context.Context) (json.RawMessage, error) {
		o.enter(name, write, keys)
		time.Sleep(d)
		o.leave(write, keys)
		return value(name), nil
	}}
}

func (o *overlapTracker) enter(name string, write bool, keys []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running++
	o.starts[name] = time.Now()
	o.maxTotal = max(o.maxTotal, o.running)
	for _, k := range keys {
		if o.writing[k] || (write && o.holders[k] > 0) {
			o.bad = append(o.bad, fmt.Sprintf("%s entered %s while it was held", name, k))
		}
		o.holders[k]++
		o.writing[k] = o.writing[k] || write
		o.order[k] = append(o.order[k], name)
	}
}

func (o *overlapTracker) leave(write bool, keys []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running--
	for _, k := range keys {
		o.holders[k]--
		if write {
			o.writing[k] = false
		}
	}
}

func TestSameKeyWritesInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 8})
		o := newTracker()
		var chans []<-chan result
		want := map[string][]string{}
		prios := []Priority{Bulk, Critical, Low, High, Medium}
		for i := range 5 {
			for _, k := range []string{"light.a", "light.b"} {
				name := fmt.Sprintf("%s-%d", k, i)
				want[k] = append(want[k], name)
				// Later writes are more urgent: they must still not overtake.
				chans = append(chans, submit(t.Context(), q, o.job(name, prios[i], true, time.Second, k)))
			}
		}
		for _, ch := range chans {
			if r := <-ch; r.err != nil {
				t.Fatal(r.err)
			}
		}
		if len(o.bad) > 0 {
			t.Errorf("overlaps: %v", o.bad)
		}
		if diff := cmp.Diff(want, o.order); diff != "" {
			t.Errorf("start order per key (-want +got):\n%s", diff)
		}
		if o.maxTotal != 2 {
			t.Errorf("max jobs running at once = %d, want 2 (one per key)", o.maxTotal)
		}
	})
}

func TestBlockedWriteLendsPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{AgingInterval: time.Hour})
		release := blockWith(t, q)
		var rec recorder
		write := func(name string, p Priority) Job {
			return Job{Priority: p, Write: true, Locks: []string{"light.a"}, Run: rec.run(name)}
		}
		chans := []<-chan result{
			submit(t.Context(), q, write("bulk-write", Bulk)),
			submit(t.Context(), q, rec.job("medium-read", Medium)),
			submit(t.Context(), q, write("critical-write", Critical)),
		}
		release()
		for _, ch := range chans {
			recv(t, ch)
		}
		// The critical write must follow the bulk write, which inherits its
		// priority instead of waiting behind the medium read.
		want := []string{"bulk-write", "critical-write", "medium-read"}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

func TestNoHeadOfLineBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 2})
		g := newGate()
		holder := submit(t.Context(), q, Job{Write: true, Locks: []string{"light.a"}, Run: g.run("holder")})
		var rec recorder
		blocked := submit(t.Context(), q, Job{Priority: Critical, Write: true, Locks: []string{"light.a"}, Run: rec.run("blocked")})
		other := submit(t.Context(), q, Job{Priority: Bulk, Write: true, Locks: []string{"light.b"}, Run: rec.run("other")})
		read := submit(t.Context(), q, rec.job("read", Bulk))
		// The free slot serves the jobs behind the blocked one.
		for _, ch := range []<-chan result{other, read} {
			if r := recv(t, ch); r.err != nil {
				t.Fatal(r.err)
			}
		}
		if !pending(blocked) {
			t.Fatal("write ran while its key was held")
		}
		close(g.release)
		synctest.Wait()
		recv(t, holder)
		recv(t, blocked)
		if diff := cmp.Diff([]string{"other", "read", "blocked"}, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

func TestSharedReadsAndWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 8})
		o := newTracker()
		jobs := []Job{
			o.job("r1", Medium, false, time.Second, "light.a"),
			o.job("r2", Bulk, false, 2*time.Second, "light.a"),
			o.job("w1", Low, true, time.Second, "light.a"),
			o.job("r3", Critical, false, time.Second, "light.a"),
			o.job("r4", Critical, false, time.Second, "light.a"),
			o.job("w2", Critical, true, time.Second, "light.a"),
		}
		var chans []<-chan result
		for _, j := range jobs {
			chans = append(chans, submit(t.Context(), q, j))
		}
		for _, ch := range chans {
			<-ch
		}
		if len(o.bad) > 0 {
			t.Errorf("overlaps: %v", o.bad)
		}
		// r1 and r2 together, then w1 alone once r2 is done, then r3 and r4
		// together, then w2.
		want := map[string]time.Duration{"r1": 0, "r2": 0, "w1": 2 * time.Second, "r3": 3 * time.Second, "r4": 3 * time.Second, "w2": 4 * time.Second}
		got := map[string]time.Duration{}
		for name, at := range o.starts {
			got[name] = at.Sub(o.starts["r1"])
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		if o.maxTotal != 2 {
			t.Errorf("max jobs running at once = %d, want 2 (reads in pairs)", o.maxTotal)
		}
	})
}

func TestMultiKeyNoDeadlock(t *testing.T) {
	// A deadlock would leave every goroutine of the bubble blocked, which
	// synctest reports as a failure.
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 4})
		o := newTracker()
		rng := rand.New(rand.NewPCG(1, 2))
		keys := []string{"a", "b", "c", "d", "e"}
		var chans []<-chan result
		for i := range 100 {
			rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			n := 1 + rng.IntN(3)
			name := fmt.Sprint(i)
			j := o.job(name, Priority(rng.IntN(numPriorities)), rng.IntN(4) > 0, time.Duration(1+rng.IntN(5))*time.Second, slices.Clone(keys[:n])...)
			chans = append(chans, submit(t.Context(), q, j))
		}
		for i, ch := range chans {
			if r := <-ch; r.err != nil || string(r.out.Value) != fmt.Sprintf("%q", fmt.Sprint(i)) {
				t.Fatalf("job %d = %s, %v", i, r.out.Value, r.err)
			}
		}
		if len(o.bad) > 0 {
			t.Errorf("overlaps: %v", o.bad)
		}
		if o.maxTotal < 2 {
			t.Errorf("max jobs running at once = %d, want >= 2", o.maxTotal)
		}
	})
}

func TestCancelledWriterUnblocksKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 2})
		g := newGate()
		holder := submit(t.Context(), q, Job{Write: true, Locks: []string{"x"}, Run: g.run("holder")})
		ctx, cancel := context.WithCancel(t.Context())
		var rec recorder
		gone := submit(ctx, q, Job{Write: true, Locks: []string{"x"}, Run: rec.run("gone")})
		next := submit(t.Context(), q, Job{Write: true, Locks: []string{"x"}, Run: rec.run("next")})
		cancel()
		synctest.Wait()
		recv(t, gone)
		close(g.release)
		synctest.Wait()
		recv(t, holder)
		if r := recv(t, next); r.err != nil {
			t.Fatal(r.err)
		}
		if diff := cmp.Diff([]string{"next"}, rec.got()); diff != "" {
			t.Errorf("ran (-want +got):\n%s", diff)
		}
	})
}
