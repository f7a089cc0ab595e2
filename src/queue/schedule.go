package queue

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// enqueueLocked appends c to the waiting calls and to the lists of its keys,
// lends its priority to the calls it will wait for, and closes the dedup
// groups a write must not be merged into.
func (q *Queue) enqueueLocked(c *call) {
	q.seq++
	c.seq = q.seq
	q.queued = append(q.queued, c)
	q.maxSeen = max(q.maxSeen, len(q.queued))
	for _, k := range c.keys {
		ahead := q.keys[k]
		q.keys[k] = append(ahead, c)
		for _, x := range ahead {
			if conflicts(c, x) {
				q.boostLocked(x, c.inherit)
			}
			if c.exclusive() {
				q.unregisterDedupLocked(x)
			}
		}
	}
}

// boostLocked raises the priority of queued call c, and of the calls it waits
// for, to p: a job is never kept waiting by a less urgent one it must follow.
func (q *Queue) boostLocked(c *call, p Priority) {
	if c.state != stateQueued || p >= c.inherit {
		return
	}
	c.inherit = p
	for _, k := range c.keys {
		for _, x := range q.keys[k] {
			if x == c {
				break
			}
			if conflicts(c, x) {
				q.boostLocked(x, p)
			}
		}
	}
}

// eligibleLocked reports whether no call ahead of c on one of its keys
// conflicts with it.
func (q *Queue) eligibleLocked(c *call) bool {
	for _, k := range c.keys {
		for _, x := range q.keys[k] {
			if x == c {
				break
			}
			if conflicts(c, x) {
				return false
			}
		}
	}
	return true
}

// effectiveLocked returns c's priority at now: inherited, then aged.
func (q *Queue) effectiveLocked(c *call, now time.Time) Priority {
	levels := int64(now.Sub(c.arrived) / q.cfg.AgingInterval)
	if levels >= int64(c.inherit) {
		return Critical
	}
	return c.inherit - Priority(levels)
}

// pickLocked returns the eligible queued call with the most urgent effective
// priority, the oldest among equals, or nil. A call whose Group runs its
// limit waits, however urgent: the other groups keep their slots.
func (q *Queue) pickLocked(now time.Time) *call {
	var best *call
	bestP := Priority(numPriorities)
	for _, c := range q.queued { // in arrival order: the first found wins ties
		p := q.effectiveLocked(c, now)
		if p >= bestP || q.groupFullLocked(c) || !q.eligibleLocked(c) {
			continue
		}
		best, bestP = c, p
		if p == Critical {
			break
		}
	}
	return best
}

// dispatchLocked starts calls while slots are free. It is called after every
// change that can make a call startable.
func (q *Queue) dispatchLocked() {
	if !q.started || q.closed {
		return
	}
	now := time.Now()
	for q.running < q.concurrency {
		c := q.pickLocked(now)
		if c == nil {
			return
		}
		q.startLocked(c, now)
	}
}

// startLocked moves c from queued to running in a goroutine owned by Run.
func (q *Queue) startLocked(c *call, now time.Time) {
	q.unqueueLocked(c)
	c.state = stateRunning
	c.started = now
	c.ran = true
	q.running++
	q.groupStartedLocked(c)
	ctx, cancel := context.WithCancel(c.values)
	if !c.job.Deadline.IsZero() {
		ctx, cancel = context.WithDeadline(c.values, c.job.Deadline)
	}
	c.cancel = cancel
	q.metrics.wait.Observe(now.Sub(c.arrived).Seconds())
	q.runLocked(ctx, c)
}

// finishLocked records the outcome of running call c and frees its slot and
// keys.
func (q *Queue) finishLocked(c *call, val []byte, err error) {
	q.running--
	q.groupFinishedLocked(c)
	q.counters.Completed++
	q.releaseKeysLocked(c)
	q.unregisterDedupLocked(c)
	c.cancel()
	if err != nil && c.orphaned {
		err = fmt.Errorf("%w: %w", ErrAbandoned, err)
	}
	c.state, c.val, c.err = stateDone, val, err
	q.idem.completeLocked(c, time.Now())
	c.release()
	close(c.done)
}

// dropLocked removes queued call c without running it, failing its waiters
// with err.
func (q *Queue) dropLocked(c *call, err error) {
	q.unqueueLocked(c)
	q.releaseKeysLocked(c)
	q.unregisterDedupLocked(c)
	q.idem.forgetLocked(c)
	c.state, c.err = stateDone, err
	c.release()
	close(c.done)
}

// unqueueLocked removes c from the waiting calls, found by its sequence.
func (q *Queue) unqueueLocked(c *call) {
	i, ok := slices.BinarySearchFunc(q.queued, c.seq, func(x *call, seq uint64) int {
		switch {
		case x.seq < seq:
			return -1
		case x.seq > seq:
			return 1
		}
		return 0
	})
	if ok {
		q.queued = slices.Delete(q.queued, i, i+1)
	}
}

// releaseKeysLocked removes c from the lists of its keys.
func (q *Queue) releaseKeysLocked(c *call) {
	for _, k := range c.keys {
		list := q.keys[k]
		if i := slices.Index(list, c); i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
		if len(list) == 0 {
			delete(q.keys, k)
		} else {
			q.keys[k] = list
		}
	}
}

// unregisterDedupLocked stops new callers from joining c.
func (q *Queue) unregisterDedupLocked(c *call) {
	if c.dedupKey != "" && q.dedup[c.dedupKey] == c {
		delete(q.dedup, c.dedupKey)
	}
	c.dedupKey = ""
}
