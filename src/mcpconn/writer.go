package mcpconn

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
)

// errClosing reports a write attempted after Close began.
var errClosing = errors.New("session closing")

// errWouldBlock reports that the pipe could not take a whole message at once.
var errWouldBlock = errors.New("write would block")

// writer serialises writes to the child's stdin. Whoever holds the turn
// writes its own message, in one syscall when the pipe has room, so a call
// costs no goroutine hop. Only a message the pipe cannot take at once is
// finished by a goroutine (owned by the session's WaitGroup), so that a
// caller whose ctx ends never waits on a child that stopped reading, and
// still knows whether its message was sent: a message is sent once its
// write has begun.
type writer struct {
	out     *os.File
	raw     syscall.RawConn // out's, for writes that must not wait
	turn    chan struct{}   // buffered 1: holding it means owning out
	closing chan struct{}   // closed by shutdown
	wg      *sync.WaitGroup // the session's; counts background writes

	// Set by tryWrite's caller, read by rawWrite; guarded by the turn.
	buf  []byte
	n    int
	errn error
	fn   func(fd uintptr) bool // w.rawWrite, bound once

	mu      sync.Mutex // guards closed, err, pending
	closed  bool
	err     error    // the first write error: every later write fails with it
	pending [][]byte // writeAsync messages waiting for the turn's holder
}

func newWriter(out *os.File, wg *sync.WaitGroup) *writer {
	w := &writer{out: out, turn: make(chan struct{}, 1), closing: make(chan struct{}), wg: wg}
	w.raw, _ = out.SyscallConn() // nil for a file without one: every write then waits in the background
	w.fn = w.rawWrite
	return w
}

// acquire takes the turn, waiting at most until ctx ends or the writer
// shuts down; on error nothing was written.
func (w *writer) acquire(ctx context.Context) error {
	select {
	case w.turn <- struct{}{}:
	default:
		select {
		case w.turn <- struct{}{}:
		case <-ctx.Done():
			return notSentError(ctx.Err())
		case <-w.closing:
			return notSentError(errClosing)
		}
	}
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		<-w.turn
		return notSentError(errClosing)
	}
	return nil
}

// release writes what writeAsync queued while the turn was held, then
// passes the turn on. A queued batch the pipe cannot take at once is
// finished in the background, which releases the turn when done.
func (w *writer) release() {
	for {
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		if len(batch) == 0 || w.closed || w.err != nil {
			<-w.turn
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		var buf []byte
		for _, m := range batch {
			buf = append(buf, m...)
		}
		n, err := w.tryWrite(buf)
		if errors.Is(err, errWouldBlock) && w.background(func() { w.finish(buf[n:], nil) }) {
			return
		}
		if err != nil {
			w.fail(err)
		}
	}
}

// finish writes the rest of a message, waiting for the pipe, then releases
// the turn. The turn must be held; report, if not nil, receives the
// write's outcome before the turn is passed on.
func (w *writer) finish(rest []byte, report chan<- error) {
	_, err := w.out.Write(rest)
	if err != nil {
		w.fail(err)
	}
	if report != nil {
		report <- err
	}
	w.release()
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

// shutdown stops the writer: callers waiting for the turn fail as not sent,
// later writes too. A write in progress finishes or fails when the
// child's stdin is closed.
func (w *writer) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.pending = nil
	close(w.closing)
}

// write writes data (one whole line) to the child. sent reports whether the
// write began: if not, err wraps ErrNotSent. If sent and err is non-nil,
// either the write failed or ctx ended while it was in progress.
func (s *Session) write(ctx context.Context, data []byte) (sent bool, err error) {
	w := s.w
	if err := w.acquire(ctx); err != nil {
		return false, err
	}
	w.mu.Lock()
	werr := w.err
	w.mu.Unlock()
	if werr != nil {
		w.release()
		return true, werr
	}
	n, err := w.tryWrite(data)
	if !errors.Is(err, errWouldBlock) {
		if err != nil {
			w.fail(err)
		}
		w.release()
		return true, err
	}
	done := make(chan error, 1)
	if !w.background(func() { w.finish(data[n:], done) }) {
		w.release()
		return true, errClosing
	}
	select {
	case err := <-done:
		return true, err
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// writeAsync writes data without waiting: answers to the child's requests
// and notifications, which must not hold up the read loop. If the turn is
// taken, its holder writes data before passing it on.
func (s *Session) writeAsync(data []byte) {
	w := s.w
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		s.log.Debug().Msg("dropping a message to the child: session closing")
		return
	}
	select {
	case w.turn <- struct{}{}:
	default:
		w.pending = append(w.pending, data)
		w.mu.Unlock()
		return
	}
	w.pending = append(w.pending, data)
	w.mu.Unlock()
	w.release() // writes pending, data included
}
