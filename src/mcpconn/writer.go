package mcpconn

import (
	"context"
	"errors"
	"io"
	"sync"
)

// errClosing reports a write attempted after Close began.
var errClosing = errors.New("session closing")

// outItem is one line waiting to be written to the child's stdin.
type outItem struct {
	data  []byte
	taken bool       // guarded by writer.mu: the write started, it can no longer be withdrawn
	done  chan error // receives the write's result once
}

// writer serialises writes to the child's stdin through one goroutine, so a
// caller waiting for its turn can give up when its ctx ends and know for
// sure whether its message was sent.
type writer struct {
	mu     sync.Mutex // guards q, closed
	q      []*outItem
	closed bool
	wake   chan struct{} // buffered 1: the queue changed
}

func newWriter() *writer { return &writer{wake: make(chan struct{}, 1)} }

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// enqueue adds data to the queue; it fails if the writer is shut down.
func (w *writer) enqueue(data []byte) (*outItem, error) {
	it := &outItem{data: data, done: make(chan error, 1)}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errClosing
	}
	w.q = append(w.q, it)
	w.signal()
	return it, nil
}

// withdraw removes it from the queue if its write has not started, and
// reports whether it did.
func (w *writer) withdraw(it *outItem) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if it.taken {
		return false
	}
	for i, q := range w.q {
		if q == it {
			w.q = append(w.q[:i], w.q[i+1:]...)
			break
		}
	}
	return true
}

// take pops the next item, or reports that the writer is shut down.
func (w *writer) take() (*outItem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, false
	}
	if len(w.q) == 0 {
		return nil, true
	}
	it := w.q[0]
	w.q[0] = nil
	w.q = w.q[1:]
	it.taken = true
	return it, true
}

// shutdown stops the writer; queued items fail as not sent.
func (w *writer) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	for _, it := range w.q {
		it.done <- errClosing
	}
	w.q = nil
	w.signal()
}

// run writes queued items to out until shutdown or a write error; after an
// error every later item fails with it.
func (w *writer) run(out io.Writer) {
	var werr error
	for {
		it, ok := w.take()
		if !ok {
			return
		}
		if it == nil {
			<-w.wake
			continue
		}
		if werr == nil {
			_, werr = out.Write(it.data)
		}
		it.done <- werr
	}
}

// write queues data and waits for it to be written. sent reports whether the
// write started: if not, err wraps ErrNotSent. If sent and err is non-nil,
// either the write failed or ctx ended while it was in progress.
func (s *Session) write(ctx context.Context, data []byte) (sent bool, err error) {
	it, err := s.w.enqueue(data)
	if err != nil {
		return false, notSentError(err)
	}
	select {
	case err := <-it.done:
		if err == errClosing {
			return false, notSentError(err)
		}
		return true, err
	case <-ctx.Done():
		if s.w.withdraw(it) {
			return false, notSentError(ctx.Err())
		}
		return true, ctx.Err()
	}
}

// writeAsync queues data without waiting: answers to the child's requests
// and notifications, which must not hold up the read loop.
func (s *Session) writeAsync(data []byte) {
	if _, err := s.w.enqueue(data); err != nil {
		s.log.Debug().Err(err).Msg("dropping a message to the child")
	}
}
