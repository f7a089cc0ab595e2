package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors returned by Do. Errors returned by a job's Run are passed on as is.
var (
	ErrFull       = errors.New("queue: full")
	ErrClosed     = errors.New("queue: closed")
	ErrInvalidJob = errors.New("queue: invalid job")
	ErrPanicked   = errors.New("queue: job panicked")

	// ErrAbandoned wraps the error of an execution cancelled because every
	// caller left. Only an idempotent repeat that arrives afterwards sees it:
	// the job started, so its effect is unknown and it is not run again.
	ErrAbandoned = errors.New("queue: execution cancelled after every caller left")

	// ErrNotStarted wraps the error of a caller that left (its ctx ended)
	// before the job it waited for started: that job has not run yet.
	ErrNotStarted = errors.New("queue: cancelled")
)

// Job is one unit of work submitted to Do.
type Job struct {
	// Priority orders waiting jobs; the zero value is Critical.
	Priority Priority

	// Write makes the job's Locks exclusive; without it they are shared.
	// A write with no Locks is not serialised at all.
	Write bool

	// Locks are keys (entity ids, "area:<id>", "device:<id>") serialised in
	// arrival order: a write never overlaps another job on one of its keys,
	// reads on a key run in parallel. Jobs on other keys run in parallel.
	Locks []string

	// DedupKey, for reads only, makes jobs with the same key that are queued
	// or running at the same time execute once; every caller gets that
	// answer. Jobs sharing a DedupKey must be interchangeable. A write queued
	// on one of the job's Locks closes the group: later reads execute anew
	// and see the write.
	DedupKey string

	// IdempotencyKey makes a repeat within IdempotencyTTL get the first
	// job's outcome, value or error, waiting for it if it is still running,
	// without executing again. A first job that never started (cancelled
	// while queued, queue closed) leaves no outcome; one cancelled while
	// running because every caller left replays an error wrapping
	// ErrAbandoned.
	IdempotencyKey string

	// Group, if set, names the job's bulkhead: jobs of one group leave
	// Config.GroupReserve of the slots (at least one) to other jobs, so
	// that a group whose jobs hang (writes to a Home Assistant domain that
	// does not answer) cannot take every slot from the others.
	Group string

	// Run executes the job. Its ctx carries the values of the first caller's
	// context and is cancelled when every caller waiting for the job has
	// gone. It must not be nil.
	Run func(ctx context.Context) (json.RawMessage, error)

	// Deadline, if set, also ends Run's ctx (the first caller's, for a job
	// that callers share). It spares a caller wrapping Run's ctx in one more
	// context.WithDeadline: callers' own deadlines do not reach Run.
	Deadline time.Time
}

// Outcome describes a job's result as seen by one caller. Value may be shared
// between callers and must not be modified.
type Outcome struct {
	Value    json.RawMessage
	Wait     time.Duration // time this caller waited before the job started
	Shared   bool          // the caller joined an identical in-flight job (DedupKey)
	Replayed bool          // the outcome is that of an earlier job (IdempotencyKey)
}

// lockKeys validates j and returns its Locks sorted and without duplicates.
func (j *Job) lockKeys() ([]string, error) {
	switch {
	case j.Run == nil:
		return nil, fmt.Errorf("%w: Run is nil", ErrInvalidJob)
	case !j.Priority.valid():
		return nil, fmt.Errorf("%w: priority %d out of range", ErrInvalidJob, int(j.Priority))
	case j.Write && j.DedupKey != "":
		return nil, fmt.Errorf("%w: DedupKey on a write (two writes are two intents)", ErrInvalidJob)
	}
	if len(j.Locks) == 0 {
		return nil, nil
	}
	keys := slices.Clone(j.Locks)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if keys[0] == "" {
		return nil, fmt.Errorf("%w: empty lock key", ErrInvalidJob)
	}
	return keys, nil
}

type callState uint8

const (
	stateQueued callState = iota
	stateRunning
	stateDone
)

// A call is one execution of a job, shared by every caller that joined it.
type call struct {
	job     Job
	keys    []string        // sorted, unique Locks
	seq     uint64          // arrival order
	arrived time.Time       // when the first caller arrived
	values  context.Context // first caller's context without its cancellation
	done    chan struct{}   // closed once state is stateDone; val and err are then final

	// guarded by Queue.mu
	state    callState
	inherit  Priority // most urgent priority of this call and of the callers and calls waiting on it
	waiters  int      // callers in Do waiting for this call
	dedupKey string   // non-empty while registered in Queue.dedup
	idemKeys []string // keys registered in the idempotency store
	started  time.Time
	ran      bool // Run was called: the outcome may be replayed
	orphaned bool // every caller left while it ran: its context is cancelled
	cancel   context.CancelFunc
	// inlineCtx is Run's context when the call started as it was admitted,
	// for its caller to run it; admitLocked hands it over and clears it.
	inlineCtx context.Context
	val       json.RawMessage
	err       error
}

// release drops what a done call no longer needs but an idempotency entry
// would keep alive: the job's closure and the first caller's context.
func (c *call) release() {
	c.job.Run = nil
	c.values = nil
}

// exclusive reports whether c holds its keys exclusively.
func (c *call) exclusive() bool { return c.job.Write && len(c.keys) > 0 }

// conflicts reports whether a and b, sharing a key, may not overlap.
func conflicts(a, b *call) bool { return a.exclusive() || b.exclusive() }

// A waiter is one caller of Do waiting for a call.
type waiter struct {
	c        *call
	arrived  time.Time
	shared   bool
	replayed bool
	inline   context.Context // non-nil: the caller runs c with this context
}

// outcome returns the waiter's Outcome; c must be done.
func (w *waiter) outcome() Outcome {
	o := Outcome{Value: w.c.val, Shared: w.shared, Replayed: w.replayed}
	if w.c.started.After(w.arrived) {
		o.Wait = w.c.started.Sub(w.arrived)
	}
	return o
}
