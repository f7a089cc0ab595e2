package queue

import "context"

// A worker is a goroutine that runs calls one after another. A call that
// can start as it arrives is run by its caller instead (runInline); workers
// run the calls that had to wait. Workers are
// kept once started, idle between calls, so that starting a call costs a
// hand-off rather than a new goroutine whose stack grows anew through the
// job's deep call chain. There are never more workers than the most calls
// ever running at once; Run's WaitGroup counts them, and they exit when
// Run stops.
type worker struct {
	next chan task // buffered 1: a call handed over while idle
}

// task is a call and the context its Run gets.
type task struct {
	c   *call
	ctx context.Context
}

// runLocked starts c on an idle worker, or on a new one; or, if c is the
// call being admitted, leaves it to its caller (see runInline), counted in
// Run's WaitGroup like a worker.
func (q *Queue) runLocked(ctx context.Context, c *call) {
	if c == q.inline {
		c.inlineCtx = ctx
		q.wg.Add(1)
		return
	}
	t := task{c: c, ctx: ctx}
	if n := len(q.idle); n > 0 {
		w := q.idle[n-1]
		q.idle[n-1] = nil
		q.idle = q.idle[:n-1]
		w.next <- t // never blocks: an idle worker's channel is empty
		return
	}
	q.wg.Add(1)
	go q.work(&worker{next: make(chan task, 1)}, t)
}

// work runs t, then the calls handed to w, until Run stops.
func (q *Queue) work(w *worker, t task) {
	defer q.wg.Done()
	for ok := true; ok; t, ok = q.idleWait(w) {
		q.execute(t.ctx, t.c)
	}
}

// idleWait parks w until a call is handed to it, or reports false once
// Run has stopped.
func (q *Queue) idleWait(w *worker) (task, bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return task{}, false
	}
	q.idle = append(q.idle, w)
	q.mu.Unlock()
	select {
	case t := <-w.next:
		return t, true
	case <-q.quit:
	}
	select { // a call handed over before Run stopped comes first
	case t := <-w.next:
		return t, true
	default:
		return task{}, false
	}
}
