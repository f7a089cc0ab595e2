package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

var errRunTwice = errors.New("queue: Run called twice")

// Queue schedules jobs; see the package documentation. Create it with New and
// start it with Run. It is safe for concurrent use.
type Queue struct {
	cfg     Config
	log     zerolog.Logger
	metrics *metrics
	wg      sync.WaitGroup // workers; Run waits for them
	quit    chan struct{}  // closed when Run stops: idle workers exit

	mu          sync.Mutex // guards everything below
	started     bool       // Run was called: calls may start
	closed      bool       // Run's ctx ended: no new calls
	concurrency int
	running     int
	seq         uint64
	queued      []*call            // waiting calls, in arrival order
	keys        map[string][]*call // per lock key, queued and running calls in arrival order
	dedup       map[string]*call   // joinable calls by DedupKey
	groups      map[string]int     // running calls per Job.Group
	idem        idemStore
	maxSeen     int
	counters    Counters
	idle        []*worker // workers waiting for a call

	// inline is the call admitLocked is admitting: if dispatching starts
	// it at once, its caller runs it (see runInline) rather than a worker.
	inline *call
}

// New returns a Queue configured by cfg, which it copies. Jobs submitted
// before Run is called wait for it.
func New(cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	q := &Queue{
		cfg:         cfg,
		log:         cfg.Logger,
		concurrency: cfg.Concurrency,
		quit:        make(chan struct{}),
		keys:        make(map[string][]*call),
		dedup:       make(map[string]*call),
		groups:      make(map[string]int),
		idem:        newIdemStore(cfg.IdempotencyTTL, cfg.MaxIdempotencyKeys, cfg.MaxIdempotencyBytes),
	}
	m, err := newMetrics(cfg.Registerer, q)
	if err != nil {
		return nil, err
	}
	q.metrics = m
	return q, nil
}

// Run starts jobs until ctx ends. Then it refuses new jobs with ErrClosed,
// fails the jobs still waiting with ErrClosed, waits for the running ones to
// finish and returns nil. Running jobs are not cancelled: their callers'
// contexts bound them.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return errRunTwice
	}
	q.started = true
	q.dispatchLocked()
	q.mu.Unlock()

	<-ctx.Done()

	q.mu.Lock()
	q.closed = true
	close(q.quit)
	q.idle = nil
	dropped, running := len(q.queued), q.running
	for _, c := range slices.Clone(q.queued) {
		q.dropLocked(c, ErrClosed)
		q.rejectLocked("closed")
	}
	q.mu.Unlock()
	q.log.Info().Int("dropped", dropped).Int("running", running).Msg("queue: stopping, waiting for running jobs")
	q.wg.Wait()
	return nil
}

// SetConcurrency sets the number of jobs run at once; n < 1 counts as 1 so
// that the queue always makes progress. Lowering it lets running jobs finish.
func (q *Queue) SetConcurrency(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.concurrency = max(n, 1)
	q.dispatchLocked()
}

// Do runs j once a slot is free and its locks allow, and returns its
// outcome. A job that can start as it arrives runs on the calling
// goroutine; one that waits runs on a worker. ctx bounds both the wait and
// the run: cancelled while j waits, j is removed from the queue and Do
// returns at once; cancelled while it runs, Run's context is cancelled
// unless other callers share the job, and Do returns at once, or, when the
// job runs on the calling goroutine, once Run has returned. Either way the
// error wraps ctx.Err(). Do fails at once with ErrFull when MaxSize jobs
// are waiting and with ErrClosed after Run has returned.
func (q *Queue) Do(ctx context.Context, j Job) (Outcome, error) {
	keys, err := j.lockKeys()
	if err != nil {
		q.mu.Lock()
		q.rejectLocked("invalid")
		q.mu.Unlock()
		return Outcome{}, err
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, fmt.Errorf("%w: before queueing: %w", ErrNotStarted, err)
	}
	q.mu.Lock()
	w, out, err := q.admitLocked(ctx, j, keys)
	q.mu.Unlock()
	switch {
	case w == nil:
		return out, err
	case w.inline != nil:
		return q.runInline(ctx, w)
	}
	return q.await(ctx, w)
}

// admitLocked replays, joins or queues j. It returns the waiter to wait on,
// or an immediate outcome and error.
func (q *Queue) admitLocked(ctx context.Context, j Job, keys []string) (*waiter, Outcome, error) {
	now := time.Now()
	if q.closed {
		q.rejectLocked("closed")
		return nil, Outcome{}, ErrClosed
	}
	q.idem.sweepLocked(now)
	if c := q.idem.get(j.IdempotencyKey); c != nil {
		q.counters.Replayed++
		q.metrics.replayed.Inc()
		if c.state == stateDone {
			return nil, Outcome{Value: c.val, Replayed: true}, c.err
		}
		return q.joinLocked(c, j.Priority, now, false), Outcome{}, nil
	}
	if c := q.dedup[j.DedupKey]; j.DedupKey != "" && c != nil {
		q.counters.Deduplicated++
		q.metrics.deduplicated.Inc()
		q.idem.addLocked(j.IdempotencyKey, c)
		return q.joinLocked(c, j.Priority, now, true), Outcome{}, nil
	}
	if len(q.queued) >= q.cfg.MaxSize {
		q.rejectLocked("full")
		return nil, Outcome{}, ErrFull
	}
	c := &call{
		job: j, keys: keys, arrived: now, inherit: j.Priority, waiters: 1,
		values: context.WithoutCancel(ctx), done: make(chan struct{}),
	}
	q.enqueueLocked(c)
	q.counters.Accepted++
	if j.DedupKey != "" {
		c.dedupKey = j.DedupKey
		q.dedup[j.DedupKey] = c
	}
	q.idem.addLocked(j.IdempotencyKey, c)
	q.inline = c
	q.dispatchLocked()
	q.inline = nil
	w := &waiter{c: c, arrived: now, inline: c.inlineCtx}
	c.inlineCtx = nil
	return w, Outcome{}, nil
}

// joinLocked adds a caller of priority p to the in-flight call c.
func (q *Queue) joinLocked(c *call, p Priority, now time.Time, shared bool) *waiter {
	c.waiters++
	q.boostLocked(c, p)
	return &waiter{c: c, arrived: now, shared: shared, replayed: !shared}
}

// await waits for w's call or for ctx, whichever comes first.
func (q *Queue) await(ctx context.Context, w *waiter) (Outcome, error) {
	select {
	case <-w.c.done:
		return w.outcome(), w.c.err
	case <-ctx.Done():
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	c := w.c
	switch c.state {
	case stateDone:
		return w.outcome(), c.err
	case stateQueued:
		q.leaveLocked(c)
		return Outcome{}, fmt.Errorf("%w: while queued: %w", ErrNotStarted, ctx.Err())
	default:
		q.leaveLocked(c)
		return Outcome{}, fmt.Errorf("queue: cancelled while running: %w", ctx.Err())
	}
}

// runInline runs the call of w, which dispatching started as it arrived,
// on the caller's goroutine: an uncontended call then costs no hand-off to a
// worker and back, which on a small machine is a good share of a fast
// call's latency. The caller leaving (ctx ending) has the effect it has in
// await, dropping its share of the call, which cancels Run's context unless
// other callers joined it; but Do returns only once Run has.
func (q *Queue) runInline(ctx context.Context, w *waiter) (Outcome, error) {
	defer q.wg.Done()
	c := w.c
	left := false // written under q.mu before the call is done, read after
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if c.state == stateRunning {
			left = true
			q.leaveLocked(c)
		}
	})
	q.execute(w.inline, c)
	stop()
	if left {
		return Outcome{}, fmt.Errorf("queue: cancelled while running: %w", ctx.Err())
	}
	return w.outcome(), c.err
}

// leaveLocked removes a caller from c. The last one to leave removes c from
// the queue or cancels its run.
func (q *Queue) leaveLocked(c *call) {
	c.waiters--
	if c.waiters > 0 {
		return
	}
	switch c.state {
	case stateQueued:
		q.counters.Abandoned++
		q.dropLocked(c, context.Canceled)
		q.dispatchLocked() // c may have held back calls on its keys
	case stateRunning:
		q.unregisterDedupLocked(c)
		c.orphaned = true
		c.cancel()
	}
}

// execute runs c and records its outcome.
func (q *Queue) execute(ctx context.Context, c *call) {
	val, err := q.runJob(ctx, c)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.finishLocked(c, val, err)
	q.dispatchLocked()
}

// runJob calls c's Run, turning a panic into ErrPanicked so that the slot and
// the locks are released and the process survives a faulty executor.
func (q *Queue) runJob(ctx context.Context, c *call) (val json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error().Interface("panic", r).Bytes("stack", debug.Stack()).Msg("queue: job panicked")
			val, err = nil, fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	return c.job.Run(ctx)
}

func (q *Queue) rejectLocked(reason string) {
	q.counters.Rejected++
	q.metrics.rejected.WithLabelValues(reason).Inc()
}
