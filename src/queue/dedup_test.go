package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
)

// counted returns a job body counting its executions.
func counted(n *atomic.Int32, name string) func(context.Context) (json.RawMessage, error) {
	return func(context.Context) (json.RawMessage, error) {
		n.Add(1)
		return value(name), nil
	}
}

func TestDedupExecutesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var runs atomic.Int32
		var chans []<-chan result
		for i := range 10 {
			j := Job{Priority: Medium, DedupKey: "get_entities", Run: counted(&runs, fmt.Sprint(i))}
			chans = append(chans, submit(t.Context(), q, j))
		}
		if got := q.Stats().Pending; got != 1 {
			t.Fatalf("Pending = %d, want 1", got)
		}
		release()
		leaders := 0
		for _, ch := range chans {
			r := recv(t, ch)
			if r.err != nil || string(r.out.Value) != `"0"` {
				t.Fatalf("Do = %s, %v; want the first job's value", r.out.Value, r.err)
			}
			if !r.out.Shared {
				leaders++
			}
		}
		if runs.Load() != 1 || leaders != 1 || q.Stats().Deduplicated != 9 {
			t.Errorf("runs, leaders, Deduplicated = %d, %d, %d; want 1, 1, 9", runs.Load(), leaders, q.Stats().Deduplicated)
		}
	})
}

func TestDedupSurvivesLeaderCancel(t *testing.T) {
	for _, whileQueued := range []bool{true, false} {
		t.Run(fmt.Sprint("queued=", whileQueued), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := newQueue(t, Config{})
				release := func() {}
				if whileQueued {
					release = blockWith(t, q)
				}
				g := newGate()
				ctx, cancel := context.WithCancel(t.Context())
				leader := submit(ctx, q, Job{DedupKey: "k", Run: g.run("v")})
				f1 := submit(t.Context(), q, Job{DedupKey: "k", Run: g.run("other")})
				f2 := submit(t.Context(), q, Job{DedupKey: "k", Run: g.run("other")})
				cancel()
				synctest.Wait()
				// A queued leader returns at once; a running one ran the
				// call on its own goroutine and returns when it ends.
				if whileQueued {
					if r := recv(t, leader); !errors.Is(r.err, context.Canceled) {
						t.Fatalf("leader Do = %v, want context.Canceled", r.err)
					}
				} else if !pending(leader) {
					t.Fatal("leader returned while running the call its followers share")
				}
				release()
				close(g.release)
				synctest.Wait()
				if !whileQueued {
					if r := recv(t, leader); !errors.Is(r.err, context.Canceled) {
						t.Fatalf("leader Do = %v, want context.Canceled", r.err)
					}
				}
				for _, ch := range []<-chan result{f1, f2} {
					if r := recv(t, ch); r.err != nil || string(r.out.Value) != `"v"` || !r.out.Shared {
						t.Fatalf("follower = %+v, %v; want shared \"v\"", r.out, r.err)
					}
				}
				if g.cancelled.Load() || g.runs.Load() != 1 {
					t.Errorf("cancelled, runs = %v, %d; want false, 1", g.cancelled.Load(), g.runs.Load())
				}
			})
		})
	}
}

func TestDedupAllCallersLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 2})
		g := newGate()
		ctx, cancel := context.WithCancel(t.Context())
		a := submit(ctx, q, Job{DedupKey: "k", Run: g.run("v")})
		b := submit(ctx, q, Job{DedupKey: "k", Run: g.run("v")})
		cancel()
		synctest.Wait()
		recv(t, a)
		recv(t, b)
		if !g.cancelled.Load() {
			t.Fatal("Run's ctx not cancelled after every caller left")
		}
		// A new caller does not join the cancelled execution.
		var runs atomic.Int32
		out, err := q.Do(t.Context(), Job{DedupKey: "k", Run: counted(&runs, "fresh")})
		if err != nil || out.Shared || runs.Load() != 1 {
			t.Errorf("Do = %+v, %v, runs %d; want a fresh execution", out, err, runs.Load())
		}
	})
}

func TestDedupGroupClosedByWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var rec recorder
		read := func(name string) Job {
			return Job{DedupKey: "state:light.a", Locks: []string{"light.a"}, Run: rec.run(name)}
		}
		r1 := submit(t.Context(), q, read("r1"))
		w := submit(t.Context(), q, Job{Write: true, Locks: []string{"light.a"}, Run: rec.run("w")})
		r2 := submit(t.Context(), q, read("r2"))
		release()
		for _, ch := range []<-chan result{r1, w, r2} {
			if r := recv(t, ch); r.err != nil || r.out.Shared {
				t.Fatalf("Do = %+v, %v; want an own execution", r.out, r.err)
			}
		}
		if diff := cmp.Diff([]string{"r1", "w", "r2"}, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

func TestFollowerRaisesPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{})
		release := blockWith(t, q)
		var rec recorder
		chans := []<-chan result{
			submit(t.Context(), q, Job{Priority: Bulk, DedupKey: "k", Run: rec.run("deduped")}),
			submit(t.Context(), q, rec.job("medium", Medium)),
			submit(t.Context(), q, Job{Priority: Critical, DedupKey: "k", Run: rec.run("unused")}),
		}
		release()
		for _, ch := range chans {
			recv(t, ch)
		}
		if diff := cmp.Diff([]string{"deduped", "medium"}, rec.got()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}
