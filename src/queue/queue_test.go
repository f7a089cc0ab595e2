package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPriorityOrderUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{AgingInterval: time.Hour})
		release := blockWith(t, q)
		var rec recorder
		var chans []<-chan result
		for i, p := range []Priority{Bulk, Low, High, Medium, Critical, High, Bulk, Critical, Low, Medium} {
			name := fmt.Sprintf("%d-%v", i, p)
			chans = append(chans, submit(t.Context(), q, rec.job(name, p)))
		}
		if got, want := q.Stats().Pending, 10; got != want {
			t.Fatalf("Pending = %d, want %d", got, want)
		}
		release()
		for _, ch := range chans {
			if r := recv(t, ch); r.err != nil {
				t.Fatal(r.err)
			}
		}
		want := []string{
			"4-CRITICAL", "7-CRITICAL", "2-HIGH", "5-HIGH", "3-MEDIUM",
			"9-MEDIUM", "1-LOW", "8-LOW", "0-BULK", "6-BULK",
		}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

func TestFIFOWithinPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var rec recorder
		var want []string
		for i := range 20 {
			name := fmt.Sprint(i)
			want = append(want, name)
			submit(t.Context(), q, rec.job(name, Medium))
		}
		release()
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

// bulkPosition runs a stream of HIGH jobs arriving faster than they are
// served, with one BULK job among the first, and returns the BULK job's rank.
func bulkPosition(t *testing.T, aging time.Duration) (pos, total int) {
	var rec recorder
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{AgingInterval: aging})
		slow := func(name string, p Priority) Job {
			return Job{Priority: p, Run: func(ctx context.Context) (json.RawMessage, error) {
				time.Sleep(time.Second)
				return rec.run(name)(ctx)
			}}
		}
		var chans []<-chan result
		chans = append(chans, submit(t.Context(), q, slow("high-0", High)))
		chans = append(chans, submit(t.Context(), q, slow("bulk", Bulk)))
		for i := 1; i < 60; i++ {
			time.Sleep(500 * time.Millisecond)
			chans = append(chans, submit(t.Context(), q, slow(fmt.Sprint("high-", i), High)))
		}
		for _, ch := range chans {
			if r := <-ch; r.err != nil {
				t.Fatal(r.err)
			}
		}
	})
	order := rec.got()
	for i, name := range order {
		if name == "bulk" {
			return i, len(order)
		}
	}
	t.Fatal("bulk never ran")
	return 0, 0
}

func TestAgingPreventsStarvation(t *testing.T) {
	// Without aging (an interval longer than the test) the stream starves
	// BULK until it ends: this shows the scenario does starve.
	if pos, total := bulkPosition(t, time.Hour); pos != total-1 {
		t.Fatalf("without aging, bulk ran at %d of %d, want last", pos, total)
	}
	// With a 5s interval BULK gains a level every 5s and is served within
	// 4 intervals (20 jobs of 1s), long before the stream ends.
	if pos, total := bulkPosition(t, 5*time.Second); pos > 25 {
		t.Errorf("with aging, bulk ran at %d of %d, want <= 25", pos, total)
	}
}

func TestFullRejectsImmediately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{MaxSize: 2})
		release := blockWith(t, q)
		var rec recorder
		a := submit(t.Context(), q, rec.job("a", Low))
		b := submit(t.Context(), q, Job{Priority: Low, DedupKey: "b", Run: rec.run("b")})
		// Do returns without blocking: no synctest.Wait, no goroutine.
		if _, err := q.Do(t.Context(), rec.job("c", Critical)); !errors.Is(err, ErrFull) {
			t.Fatalf("Do on a full queue = %v, want ErrFull", err)
		}
		// Joining an in-flight job adds no work and is allowed.
		b2 := submit(t.Context(), q, Job{Priority: Low, DedupKey: "b", Run: rec.run("b2")})
		release()
		for _, ch := range []<-chan result{a, b, b2} {
			if r := recv(t, ch); r.err != nil {
				t.Fatal(r.err)
			}
		}
		st := q.Stats()
		if st.Rejected != 1 || st.MaxSeen != 2 {
			t.Errorf("Rejected, MaxSeen = %d, %d; want 1, 2", st.Rejected, st.MaxSeen)
		}
	})
}

func TestCancelWhileQueuedRemovesJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var rec recorder
		ctx, cancel := context.WithCancel(t.Context())
		gone := submit(ctx, q, rec.job("gone", High))
		tctx, tcancel := context.WithTimeout(t.Context(), time.Second)
		defer tcancel()
		late := submit(tctx, q, rec.job("late", High))
		kept := submit(t.Context(), q, rec.job("kept", Low))

		cancel()
		synctest.Wait()
		if r := recv(t, gone); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("Do after cancel = %v, want context.Canceled", r.err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if r := recv(t, late); !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("Do after deadline = %v, want context.DeadlineExceeded", r.err)
		}
		if st := q.Stats(); st.Pending != 1 || st.Abandoned != 2 {
			t.Fatalf("Pending, Abandoned = %d, %d; want 1, 2", st.Pending, st.Abandoned)
		}
		release()
		if r := recv(t, kept); r.err != nil {
			t.Fatal(r.err)
		}
		if diff := cmp.Diff([]string{"kept"}, rec.got()); diff != "" {
			t.Errorf("ran (-want +got):\n%s", diff)
		}
	})
}

func TestCancelWhileRunningCancelsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		g := newGate()
		ctx, cancel := context.WithCancel(t.Context())
		ch := submit(ctx, q, Job{Run: g.run("x")})
		if !g.isStarted() {
			t.Fatal("job did not start")
		}
		cancel()
		synctest.Wait()
		if r := recv(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("Do = %v, want context.Canceled", r.err)
		}
		if !g.cancelled.Load() {
			t.Error("Run's ctx was not cancelled")
		}
		if st := q.Stats(); st.Running != 0 || st.Completed != 1 {
			t.Errorf("Running, Completed = %d, %d; want 0, 1", st.Running, st.Completed)
		}
	})
}

func TestShutdownDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(t.Context())
		runDone := make(chan error, 1)
		go func() { runDone <- q.Run(ctx) }()
		g := newGate()
		running := submit(t.Context(), q, Job{Run: g.run("running")})
		var rec recorder
		queued := submit(t.Context(), q, rec.job("queued", High))

		stop()
		synctest.Wait()
		if r := recv(t, queued); !errors.Is(r.err, ErrClosed) {
			t.Fatalf("queued job: %v, want ErrClosed", r.err)
		}
		if _, err := q.Do(t.Context(), rec.job("new", High)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Do after stop = %v, want ErrClosed", err)
		}
		if len(runDone) != 0 || !pending(running) || g.cancelled.Load() {
			t.Fatal("Run returned or cancelled before the running job finished")
		}
		close(g.release)
		synctest.Wait()
		if r := recv(t, running); r.err != nil || string(r.out.Value) != `"running"` {
			t.Fatalf("running job = %s, %v", r.out.Value, r.err)
		}
		if err := <-runDone; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if len(rec.got()) != 0 {
			t.Errorf("queued jobs ran after stop: %v", rec.got())
		}
		if err := q.Run(context.Background()); err == nil {
			t.Error("second Run = nil, want an error")
		}
	})
}

func TestSetConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		gates := make([]*gate, 4)
		chans := make([]<-chan result, 4)
		for i := range gates {
			gates[i] = newGate()
			chans[i] = submit(t.Context(), q, Job{Run: gates[i].run(fmt.Sprint(i))})
		}
		started := func() (n int) {
			for _, g := range gates {
				if g.isStarted() {
					n++
				}
			}
			return n
		}
		if got := started(); got != 1 {
			t.Fatalf("started with concurrency 1 = %d, want 1", got)
		}
		q.SetConcurrency(3)
		synctest.Wait()
		if got := started(); got != 3 {
			t.Fatalf("started with concurrency 3 = %d, want 3", got)
		}
		q.SetConcurrency(0) // counts as 1
		for i := range 2 {
			close(gates[i].release)
			synctest.Wait()
			recv(t, chans[i])
			if got := started(); got != 3 {
				t.Fatalf("started after %d releases at concurrency 1 = %d, want 3", i+1, got)
			}
		}
		close(gates[2].release)
		synctest.Wait()
		if got, st := started(), q.Stats(); got != 4 || st.Concurrency != 1 || st.Running != 1 {
			t.Fatalf("started, concurrency, running = %d, %d, %d; want 4, 1, 1", got, st.Concurrency, st.Running)
		}
		close(gates[3].release)
	})
}

func TestJobsQueuedBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		var rec recorder
		ch := submit(t.Context(), q, rec.job("early", Low))
		if !pending(ch) || q.Stats().Pending != 1 {
			t.Fatal("job ran before Run")
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go q.Run(ctx)
		synctest.Wait()
		if r := recv(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	})
}

func TestPanickingJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		_, err := q.Do(t.Context(), Job{Locks: []string{"a"}, Write: true, Run: func(context.Context) (json.RawMessage, error) {
			panic("boom")
		}})
		if !errors.Is(err, ErrPanicked) {
			t.Fatalf("Do = %v, want ErrPanicked", err)
		}
		var rec recorder
		j := rec.job("after", Low)
		j.Locks, j.Write = []string{"a"}, true
		if _, err := q.Do(t.Context(), j); err != nil {
			t.Fatalf("Do after a panic = %v", err)
		}
	})
}

func TestInvalidJobs(t *testing.T) {
	q, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(context.Context) (json.RawMessage, error) { return nil, nil }
	for _, tt := range []struct {
		name string
		job  Job
	}{
		{"nil Run", Job{}},
		{"priority too low", Job{Priority: -1, Run: run}},
		{"priority too high", Job{Priority: Bulk + 1, Run: run}},
		{"dedup on write", Job{Write: true, DedupKey: "k", Run: run}},
		{"empty lock", Job{Write: true, Locks: []string{"a", ""}, Run: run}},
	} {
		if _, err := q.Do(context.Background(), tt.job); !errors.Is(err, ErrInvalidJob) {
			t.Errorf("%s: Do = %v, want ErrInvalidJob", tt.name, err)
		}
	}
}

func TestDoWithDoneContext(t *testing.T) {
	q, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Do(ctx, Job{Run: func(context.Context) (json.RawMessage, error) { return nil, nil }}); !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	if st := q.Stats(); st.Pending != 0 || st.Accepted != 0 {
		t.Errorf("Pending, Accepted = %d, %d; want 0, 0", st.Pending, st.Accepted)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"set", Config{MaxSize: 5, Concurrency: 2, AgingInterval: time.Second, IdempotencyTTL: time.Minute, MaxIdempotencyKeys: 3}, true},
		{"MaxSize", Config{MaxSize: -1}, false},
		{"Concurrency", Config{Concurrency: -1}, false},
		{"AgingInterval", Config{AgingInterval: -time.Second}, false},
		{"IdempotencyTTL", Config{IdempotencyTTL: -time.Second}, false},
		{"MaxIdempotencyKeys", Config{MaxIdempotencyKeys: -1}, false},
	} {
		err := tt.cfg.Validate()
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if _, err := New(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: New() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestJobDeadline: Run's ctx ends at the job's Deadline, while the caller's
// own deadline does not reach Run.
func TestJobDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		start := time.Now()
		var runDeadline time.Time
		var hasDeadline bool
		out, err := q.Do(t.Context(), Job{Deadline: start.Add(3 * time.Second), Run: func(ctx context.Context) (json.RawMessage, error) {
			runDeadline, hasDeadline = ctx.Deadline()
			<-ctx.Done()
			return nil, ctx.Err()
		}})
		if !errors.Is(err, context.DeadlineExceeded) || out.Value != nil {
			t.Errorf("Do = %s, %v; want context.DeadlineExceeded", out.Value, err)
		}
		if !hasDeadline || !runDeadline.Equal(start.Add(3*time.Second)) || time.Since(start) != 3*time.Second {
			t.Errorf("Run's deadline %v (%v), ended after %v; want the job's, 3s", runDeadline, hasDeadline, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		_, _ = q.Do(ctx, Job{Run: func(ctx context.Context) (json.RawMessage, error) {
			_, hasDeadline = ctx.Deadline()
			return nil, nil
		}})
		if hasDeadline {
			t.Error("a job without Deadline got its caller's deadline")
		}
	})
}

// TestWhereJobsRun checks that a job which can start as it arrives runs on
// its caller's goroutine, and one that had to wait runs on a worker while
// its caller waits.
func TestWhereJobsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 1})
		g := newGate()
		first := make(chan [2]uint64, 1)
		go func() {
			caller := goroutineID()
			var runner uint64
			q.Do(t.Context(), Job{Run: func(ctx context.Context) (json.RawMessage, error) {
				runner = goroutineID()
				return g.run("a")(ctx)
			}})
			first <- [2]uint64{caller, runner}
		}()
		synctest.Wait()
		second := make(chan [2]uint64, 1)
		go func() {
			caller := goroutineID()
			var runner uint64
			q.Do(t.Context(), Job{Run: func(context.Context) (json.RawMessage, error) {
				runner = goroutineID()
				return nil, nil
			}})
			second <- [2]uint64{caller, runner}
		}()
		synctest.Wait()
		close(g.release)
		synctest.Wait()
		if ids := <-first; ids[0] != ids[1] {
			t.Errorf("uncontended job ran on goroutine %d, its caller is %d", ids[1], ids[0])
		}
		if ids := <-second; ids[0] == ids[1] || ids[1] == 0 {
			t.Errorf("queued job ran on goroutine %d, its caller is %d; want a worker", ids[1], ids[0])
		}
	})
}

// goroutineID returns the current goroutine's id, read from its stack
// header ("goroutine 42 [running]:").
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}
