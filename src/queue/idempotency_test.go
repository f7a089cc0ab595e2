package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestIdempotencyReplays(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		val     json.RawMessage
		err     error
		wantErr error
	}{
		{"value", value("ok"), nil, nil},
		{"error", nil, errBoom, errBoom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := newQueue(t, Config{})
				var runs atomic.Int32
				run := func(context.Context) (json.RawMessage, error) {
					runs.Add(1)
					return tt.val, tt.err
				}
				j := Job{Write: true, IdempotencyKey: "req-1", Run: run}
				for i, wantReplay := range []bool{false, true, true} {
					out, err := q.Do(t.Context(), j)
					if !errors.Is(err, tt.wantErr) || string(out.Value) != string(tt.val) || out.Replayed != wantReplay {
						t.Fatalf("Do #%d = %+v, %v; want %s, %v, replayed %v", i, out, err, tt.val, tt.wantErr, wantReplay)
					}
				}
				if runs.Load() != 1 || q.Stats().Replayed != 2 {
					t.Errorf("runs, Replayed = %d, %d; want 1, 2", runs.Load(), q.Stats().Replayed)
				}
			})
		})
	}
}

func TestIdempotencyTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{IdempotencyTTL: time.Minute})
		var runs atomic.Int32
		j := Job{Write: true, IdempotencyKey: "req-1", Run: counted(&runs, "v")}
		do := func() Outcome {
			t.Helper()
			out, err := q.Do(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		do()
		time.Sleep(time.Minute - time.Second)
		if out := do(); !out.Replayed || runs.Load() != 1 {
			t.Fatalf("before the TTL: replayed %v, runs %d; want true, 1", out.Replayed, runs.Load())
		}
		time.Sleep(time.Second)
		if out := do(); out.Replayed || runs.Load() != 2 {
			t.Fatalf("after the TTL: replayed %v, runs %d; want false, 2", out.Replayed, runs.Load())
		}
		if got := q.Stats().Idempotency; got != 1 {
			t.Errorf("keys kept = %d, want 1", got)
		}
	})
}

func TestIdempotencyWaitsForRunningFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 2})
		g := newGate()
		ctx, cancel := context.WithCancel(t.Context())
		first := submit(ctx, q, Job{Write: true, Locks: []string{"x"}, IdempotencyKey: "req-1", Run: g.run("v")})
		repeat := submit(t.Context(), q, Job{Write: true, Locks: []string{"x"}, IdempotencyKey: "req-1", Run: g.run("again")})
		if !pending(repeat) {
			t.Fatal("repeat returned while the first was running")
		}
		// The first caller leaves (a client timeout, then its retry): the
		// execution, which runs on the first caller's goroutine, goes on
		// for the repeat, and the first caller returns when it ends.
		cancel()
		synctest.Wait()
		if !pending(first) {
			t.Fatal("first returned while running the call the repeat waits for")
		}
		close(g.release)
		synctest.Wait()
		if r := recv(t, first); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("first Do = %v, want context.Canceled", r.err)
		}
		if r := recv(t, repeat); r.err != nil || string(r.out.Value) != `"v"` || !r.out.Replayed {
			t.Fatalf("repeat = %+v, %v; want replayed \"v\"", r.out, r.err)
		}
		if g.runs.Load() != 1 || g.cancelled.Load() {
			t.Errorf("runs, cancelled = %d, %v; want 1, false", g.runs.Load(), g.cancelled.Load())
		}
	})
}

func TestIdempotencyNotRunIsForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var runs atomic.Int32
		j := Job{Write: true, IdempotencyKey: "req-1", Run: counted(&runs, "v")}
		ctx, cancel := context.WithCancel(t.Context())
		first := submit(ctx, q, j)
		cancel()
		synctest.Wait()
		recv(t, first)
		release()
		out, err := q.Do(t.Context(), j)
		if err != nil || out.Replayed || runs.Load() != 1 {
			t.Errorf("Do = %+v, %v, runs %d; want an own execution", out, err, runs.Load())
		}
	})
}

func TestIdempotencyBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{MaxIdempotencyKeys: 2})
		var runs atomic.Int32
		for _, key := range []string{"a", "b", "c", "c", "a"} {
			if _, err := q.Do(t.Context(), Job{IdempotencyKey: key, Run: counted(&runs, key)}); err != nil {
				t.Fatal(err)
			}
		}
		// "a" was evicted by "c", so it ran twice; "c" was replayed.
		if runs.Load() != 4 || q.Stats().Idempotency != 2 {
			t.Errorf("runs, keys = %d, %d; want 4, 2", runs.Load(), q.Stats().Idempotency)
		}
	})
}

func TestIdempotencyWithDedup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		g := newGate()
		a := submit(t.Context(), q, Job{DedupKey: "d", IdempotencyKey: "i1", Run: g.run("v")})
		b := submit(t.Context(), q, Job{DedupKey: "d", IdempotencyKey: "i2", Run: g.run("x")})
		close(g.release)
		synctest.Wait()
		recv(t, a)
		recv(t, b)
		out, err := q.Do(t.Context(), Job{DedupKey: "d", IdempotencyKey: "i2", Run: g.run("x")})
		if err != nil || !out.Replayed || string(out.Value) != `"v"` || g.runs.Load() != 1 {
			t.Errorf("Do = %+v, %v, runs %d; want replayed \"v\", 1 run", out, err, g.runs.Load())
		}
	})
}

func TestIdempotencyAfterAbandonedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		g := newGate()
		j := Job{Write: true, IdempotencyKey: "req-1", Run: g.run("v")}
		ctx, cancel := context.WithCancel(t.Context())
		first := submit(ctx, q, j)
		cancel() // the client gave up while the write ran
		synctest.Wait()
		recv(t, first)
		if !g.cancelled.Load() {
			t.Fatal("Run's ctx not cancelled")
		}
		// Its retry must not write again; it learns the first was abandoned.
		_, err := q.Do(t.Context(), j)
		if !errors.Is(err, ErrAbandoned) || !errors.Is(err, context.Canceled) || g.runs.Load() != 1 {
			t.Errorf("retry = %v, runs %d; want ErrAbandoned wrapping context.Canceled, 1 run", err, g.runs.Load())
		}
	})
}

// Issue #9: the store was bounded by entries only: 10 000 large outcomes.
func TestIdempotencyBoundedByBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const budget = 16 << 10 // outcomes of up to 1 KiB are kept
		q := newQueue(t, Config{MaxIdempotencyBytes: budget})
		big := strings.Repeat("x", 900)
		for i := range 30 {
			if _, err := q.Do(t.Context(), Job{IdempotencyKey: strconv.Itoa(i), Run: func(context.Context) (json.RawMessage, error) {
				return value(big), nil
			}}); err != nil {
				t.Fatal(err)
			}
		}
		s := q.Stats()
		if s.IdempotencyBytes > budget || s.Idempotency >= 30 || s.Idempotency == 0 {
			t.Errorf("kept %d outcomes in %d bytes; want some, within %d bytes", s.Idempotency, s.IdempotencyBytes, budget)
		}
	})
}

func TestIdempotencyTooLargeIsNotRunAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{MaxIdempotencyBytes: 16 << 10})
		var runs atomic.Int32
		huge := strings.Repeat("x", 2000)
		j := Job{Write: true, IdempotencyKey: "req-1", Run: counted(&runs, huge)}
		if out, err := q.Do(t.Context(), j); err != nil || len(out.Value) < 2000 {
			t.Fatalf("first Do = %d bytes, %v; want the whole value", len(out.Value), err)
		}
		out, err := q.Do(t.Context(), j)
		if !errors.Is(err, ErrNotReplayable) || !out.Replayed || runs.Load() != 1 {
			t.Errorf("repeat = %d bytes (replayed %v), %v, runs %d; want ErrNotReplayable without running again", len(out.Value), out.Replayed, err, runs.Load())
		}
		if s := q.Stats(); s.IdempotencyBytes > 1024 {
			t.Errorf("the store holds %d bytes for a value it did not keep", s.IdempotencyBytes)
		}
	})
}
