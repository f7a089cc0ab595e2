package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestStress runs 200 concurrent callers on real goroutines (for the race
// detector) with random priorities and locks while the concurrency changes;
// every caller must get its own answer and no key may be held by two writes.
func TestStress(t *testing.T) {
	q := newQueue(t, Config{Concurrency: 4, AgingInterval: time.Millisecond})
	o := newTracker()
	rng := rand.New(rand.NewPCG(3, 4))
	keys := []string{"a", "b", "c", "d", "e"}
	jobs := make([]Job, 200)
	for i := range jobs {
		name := fmt.Sprint(i)
		var locks []string
		for _, k := range keys {
			if rng.IntN(3) == 0 {
				locks = append(locks, k)
			}
		}
		jobs[i] = o.job(name, Priority(rng.IntN(numPriorities)), rng.IntN(2) == 0, 50*time.Microsecond, locks...)
	}
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			out, err := q.Do(t.Context(), j)
			if want := fmt.Sprintf("%q", fmt.Sprint(i)); err != nil || string(out.Value) != want {
				t.Errorf("job %d = %s, %v; want %s", i, out.Value, err, want)
			}
		})
	}
	wg.Go(func() {
		for _, n := range []int{1, 8, 2, 16, 4} {
			q.SetConcurrency(n)
			_ = q.Stats()
		}
	})
	wg.Wait()
	if len(o.bad) > 0 {
		t.Errorf("overlaps: %v", o.bad)
	}
	if st := q.Stats(); st.Pending != 0 || st.Running != 0 || st.Completed != 200 {
		t.Errorf("Pending, Running, Completed = %d, %d, %d; want 0, 0, 200", st.Pending, st.Running, st.Completed)
	}
}

// TestStressCancel cancels callers at random while others share their jobs.
func TestStressCancel(t *testing.T) {
	q := newQueue(t, Config{Concurrency: 3, MaxSize: 50})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if i%3 == 0 {
				cancel()
			}
			j := Job{
				Priority: Priority(i % numPriorities), DedupKey: fmt.Sprint(i % 7),
				IdempotencyKey: fmt.Sprint("i", i%11), Locks: []string{fmt.Sprint(i % 5)},
				Run: func(ctx context.Context) (json.RawMessage, error) {
					select {
					case <-ctx.Done():
						return nil, ctx.Err()
					case <-time.After(20 * time.Microsecond):
						return value("ok"), nil
					}
				},
			}
			var canceller sync.WaitGroup
			if i%5 == 0 {
				canceller.Go(cancel) // races with Do: queued, running or done
			}
			_, _ = q.Do(ctx, j)
			canceller.Wait()
		})
	}
	wg.Wait()
	// Jobs whose callers left may still be returning from Run.
	deadline := time.Now().Add(10 * time.Second)
	for st := q.Stats(); st.Pending != 0 || st.Running != 0; st = q.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("Pending, Running = %d, %d; want 0, 0", st.Pending, st.Running)
		}
		time.Sleep(time.Millisecond)
	}
}
