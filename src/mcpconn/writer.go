package mcpconn

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
)

// errClosing reports a write attempted after Close began.
var errClosing = errors.New("session closing")

// errWouldBlock reports that the pipe could not take a whole message at once.
var errWouldBlock = errors.New("write would block")

// errInterrupted reports a batch partly written when Close began.
var errInterrupted = errors.New("session closing during a write")

// maxRounds bounds how many batches of other callers' messages a caller
// writes before handing the rest to a goroutine, so that no caller is held
// up for long by a stream of others.
const maxRounds = 4

// writer serialises writes to the child's stdin without a goroutine hop.
// A caller that finds the pipe free takes the turn and writes its message
// itself, in one syscall when the pipe has room; callers arriving
// meanwhile queue their messages, and the turn's holder writes all of them
// in one syscall before passing the turn on (group commit). A queued
// caller whose ctx ends before its message is taken withdraws it: not
// sent. Only a batch the pipe cannot take at once is finished by a
// goroutine (counted by the session's WaitGroup), so no caller ever waits
// on a child that stopped reading past its ctx.
type writer struct {
	out *os.File
	raw syscall.RawConn // out's, for writes that must not wait
	wg  *sync.WaitGroup // the session's; counts background writes

	// Used by the turn's holder only.
	scratch []byte // the batch being written
	buf     []byte // rawWrite's input
	n       int
	errn    error
	fn      func(fd uintptr) bool // w.rawWrite, bound once

	mu      sync.Mutex // guards busy, closed, err, pending, outItem.taken
	busy    bool       // the turn is held
	closed  bool
	err     error      // the first write error: every later write fails with it
	pending []*outItem // messages waiting for the turn's holder, in arrival order
}

// outItem is a message queued for the turn's holder.
type outItem struct {
	data  []byte
	taken bool       // guarded by writer.mu: its write began, it can no longer be withdrawn
	done  chan error // buffered 1; nil for writeAsync
}

func newWriter(out *os.File, wg *sync.WaitGroup) *writer {
	w := &writer{out: out, wg: wg}
	w.raw, _ = out.SyscallConn() // nil for a file without one: every write then waits in the background
	w.fn = w.rawWrite
	return w
}

// write writes data (one whole line) to the child. sent reports whether the
// write began: if not, err wraps ErrNotSent. If sent and err is non-nil,
// either the write failed or ctx ended while it was in progress.
func (s *Session) write(ctx context.Context, data []byte) (sent bool, err error) {
	w := s.w
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return false, notSentError(errClosing)
	case w.err != nil:
		err := w.err
		w.mu.Unlock()
		return true, err
	case w.busy:
		it := &outItem{data: data, done: make(chan error, 1)}
		w.pending = append(w.pending, it)
		w.mu.Unlock()
		return w.await(ctx, it)
	}
	w.busy = true
	w.mu.Unlock()
	return w.writeHeld(ctx, data)
}

// await waits for a queued message to be written, or withdraws it when ctx
// ends first.
func (w *writer) await(ctx context.Context, it *outItem) (bool, error) {
	select {
	case err := <-it.done:
		if err == errClosing {
			return false, notSentError(err)
		}
		return true, err
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if it.taken {
		return true, ctx.Err()
	}
	if i := slices.Index(w.pending, it); i >= 0 {
		w.pending = slices.Delete(w.pending, i, i+1)
	}
	return false, notSentError(ctx.Err())
}

// writeHeld writes data with the turn held, then passes the turn on.
func (w *writer) writeHeld(ctx context.Context, data []byte) (bool, error) {
	n, err := w.tryWrite(data)
	if !errors.Is(err, errWouldBlock) {
		if err != nil {
			w.fail(err)
		}
		w.release(0)
		return true, err
	}
	it := &outItem{data: data, taken: true, done: make(chan error, 1)}
	if !w.background(func() { w.finish(data[n:], []*outItem{it}, 0) }) {
		w.release(0)
		return true, errClosing
	}
	select {
	case err := <-it.done:
		return true, err
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// writeAsync writes data without waiting: answers to the child's requests
// and notifications, which must not hold up reading.
func (s *Session) writeAsync(data []byte) {
	w := s.w
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		s.log.Debug().Msg("dropping a message to the child: session closing")
		return
	}
	w.pending = append(w.pending, &outItem{data: data})
	if w.busy {
		w.mu.Unlock()
		return // the holder writes it
	}
	w.busy = true
	w.mu.Unlock()
	w.release(0)
}

// release writes the queued messages in batches, then passes the turn on.
// After maxRounds batches, or when the pipe is full, a goroutine carries
// on. rounds counts the batches the caller already wrote.
func (w *writer) release(rounds int) {
	for ; ; rounds++ {
		if rounds >= maxRounds && w.hasPending() && w.background(func() { w.release(0) }) {
			return
		}
		batch := w.takeBatch()
		if batch == nil {
			return // the turn is free
		}
		buf := w.scratch[:0]
		for _, it := range batch {
			buf = append(buf, it.data...)
		}
		if cap(buf) <= 64<<10 {
			w.scratch = buf
		}
		n, err := w.tryWrite(buf)
		if errors.Is(err, errWouldBlock) {
			rest := append([]byte(nil), buf[n:]...)
			if w.background(func() { w.finish(rest, batch, rounds+1) }) {
				return
			}
			err = errInterrupted
		}
		if err != nil {
			w.fail(err)
		}
		notify(batch, err)
	}
}

// takeBatch returns the queued messages, marked taken, or nil after
// passing the turn on when there are none (or the writer cannot write).
func (w *writer) takeBatch() []*outItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 || w.closed || w.err != nil {
		fail := w.err
		if w.closed {
			fail = errClosing
		}
		notify(w.pending, fail)
		w.pending = nil
		w.busy = false
		return nil
	}
	batch := w.pending
	w.pending = nil
	for _, it := range batch {
		it.taken = true
	}
	return batch
}

// hasPending reports whether messages are queued.
func (w *writer) hasPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) > 0
}

func notify(items []*outItem, err error) {
	for _, it := range items {
		if it.done != nil {
			it.done <- err
		}
	}
}

// finish writes the rest of a batch, waiting for the pipe, reports the
// outcome to the batch's callers and writes what queued meanwhile.
func (w *writer) finish(rest []byte, batch []*outItem, rounds int) {
	_, err := w.out.Write(rest)
	if err != nil {
		w.fail(err)
	}
	notify(batch, err)
	w.release(rounds)
}

// fail records the first write error.
func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// background runs f in a goroutine counted by the session's WaitGroup,
// unless the writer is shut down (Close waits for the WaitGroup after
// shutting the writer down, so the count never grows from zero behind its
// back).
func (w *writer) background(f func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		f()
	}()
	return true
}

// tryWrite writes as much of buf as the pipe takes now. It returns
// errWouldBlock if some is left. The turn must be held.
func (w *writer) tryWrite(buf []byte) (int, error) {
	if w.raw == nil {
		return 0, errWouldBlock
	}
	w.buf, w.n, w.errn = buf, 0, nil
	err := w.raw.Write(w.fn)
	n, errn := w.n, w.errn
	w.buf, w.errn = nil, nil
	switch {
	case err != nil:
		return n, err
	case errn == syscall.EAGAIN:
		return n, errWouldBlock
	case errn != nil:
		return n, os.NewSyscallError("write", errn)
	}
	return n, nil
}

// rawWrite is tryWrite's body, run by RawConn.Write: it never asks to wait.
func (w *writer) rawWrite(fd uintptr) bool {
	for w.n < len(w.buf) {
		m, err := syscall.Write(int(fd), w.buf[w.n:])
		if m > 0 {
			w.n += m
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			w.errn = err
			return true
		case m == 0:
			w.errn = syscall.EAGAIN
			return true
		}
	}
	return true
}

// shutdown stops the writer: queued messages fail as not sent, later
// writes too. A write in progress finishes or fails when the child's
// stdin is closed.
func (w *writer) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	notify(w.pending, errClosing)
	w.pending = nil
}
