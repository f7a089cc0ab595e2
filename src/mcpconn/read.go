package mcpconn

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-bridge/mcp-bridge/src/pipepoll"
)

// Reading the child's output. Exactly one goroutine reads at a time: the
// one holding the line reader, which travels through Session.rtok. A call
// waiting for its answer takes the reader when it is free and reads, and
// dispatches, everything the child sends until its own answer comes, then
// puts the reader back for the next waiting call. Reading on the goroutine
// that waits saves handing each answer from a reader goroutine over to it,
// which on a small machine is a good share of a fast call's latency.
//
// The session's background reader (backgroundRead) takes the reader only
// once no call has been pending for idleGrace, so that what the child sends
// while idle (log notifications, requests, end of output) is still read; it
// gives the reader back once a call has started. If the child's output does
// not support read deadlines (needed to stop a waiting call's read when its
// context ends), the background reader keeps the reader for good and calls
// wait for their answers as it delivers them.

// idleGrace is how long a session stays without pending calls before the
// background reader takes over reading.
const idleGrace = 20 * time.Millisecond

// errReadInterrupted is nextLine's error when the reading call's context ended.
var errReadInterrupted = errors.New("read interrupted")

// startReading puts the line reader in s.rtok and starts the background
// reader, counted in s.rwg.
func (s *Session) startReading() {
	s.pr = pipepoll.NewReader(s.proc.stdout)
	lr := newLineReader(s.pr, s.cfg.MaxMessageBytes)
	s.callerReads = s.proc.stdout.SetReadDeadline(time.Time{}) == nil
	s.rtok <- lr
	s.rwg.Add(1)
	go func() {
		defer s.rwg.Done()
		s.backgroundRead()
	}()
}

// backgroundRead reads while no call does, until reading ends.
func (s *Session) backgroundRead() {
	if !s.callerReads {
		s.readIdle(<-s.rtok, false)
		return
	}
	t := time.NewTimer(idleGrace)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.closing:
			// Read what the child still writes until its output ends.
			select {
			case lr := <-s.rtok:
				s.readIdle(lr, false)
			case <-s.done:
			}
			return
		case <-t.C:
		}
		if s.idle() {
			select {
			case lr := <-s.rtok:
				if !s.readIdle(lr, true) {
					return
				}
			default: // a call took it meanwhile
			}
		}
		t.Reset(idleGrace)
	}
}

// idle reports whether no call is pending or started in the last idleGrace.
func (s *Session) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0 && time.Since(s.lastCall) >= idleGrace
}

// readIdle reads and dispatches with lr until reading ends (it then returns
// false) or, if yield, until a message was dispatched after a call started:
// it then puts lr back and returns true.
func (s *Session) readIdle(lr *lineReader, yield bool) bool {
	calls := s.calls.Load()
	for {
		line, err := s.nextLine(context.Background(), lr)
		if err != nil {
			s.endReading(err)
			return false
		}
		s.dispatch(line)
		if yield && s.calls.Load() != calls {
			s.rtok <- lr
			return true
		}
	}
}

// readFor reads and dispatches with lr until pc's answer has been
// delivered, then puts lr back and returns it. If ctx ends first, it puts
// lr back and returns false. If reading ends, pc gets the connection's
// error like every pending call.
func (s *Session) readFor(ctx context.Context, pc *pendingCall, lr *lineReader) (callResult, bool) {
	stop := context.AfterFunc(ctx, s.interruptRead)
	defer stop()
	for {
		select {
		case r := <-pc.ch:
			s.rtok <- lr
			return r, true
		default:
		}
		if lr.br.Buffered() == 0 {
			s.pr.PollNext(s.spinFor())
		}
		line, err := s.nextLine(ctx, lr)
		switch {
		case errors.Is(err, errReadInterrupted):
			s.rtok <- lr
			return callResult{}, false
		case err != nil:
			s.endReading(err)
			return <-pc.ch, true
		}
		s.dispatch(line)
	}
}

// interruptRead makes the current read return os.ErrDeadlineExceeded.
func (s *Session) interruptRead() { s.proc.stdout.SetReadDeadline(time.Now()) }

// nextLine returns the next line read with lr. A read interrupted (by
// interruptRead) while ctx is still live, for instance late, for a call
// that has stopped reading, is resumed. It returns errReadInterrupted once ctx
// has ended.
func (s *Session) nextLine(ctx context.Context, lr *lineReader) ([]byte, error) {
	for {
		line, err := lr.next()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return line, err
		}
		// Clear the deadline before looking at ctx: an interruption that
		// comes after the check then ends the next read.
		s.proc.stdout.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			return nil, errReadInterrupted
		}
	}
}

// endReading records that the child's output ended or failed: the
// connection is lost.
func (s *Session) endReading(err error) {
	s.connLost(s.readError(err))
	s.readEnd.Do(func() { close(s.readDone) })
}

// dispatch handles one line from the child.
func (s *Session) dispatch(line []byte) {
	msg, err := decodeMessage(line)
	if err != nil {
		s.log.Warn().Err(err).Str("line", truncate(line, 200)).Msg("ignoring a line that is not JSON-RPC")
		return
	}
	switch m := msg.(type) {
	case *jsonrpc.Response:
		s.deliver(m)
	case *jsonrpc.Request:
		if m.IsCall() {
			s.handleRequest(m)
		} else {
			s.handleNotification(m)
		}
	}
}
