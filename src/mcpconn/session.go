package mcpconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/pipepoll"
)

// errClosed is the cause pending calls see when Close ends the session.
var errClosed = errors.New("session closed")

// Session is one initialized connection to a stdio MCP child. It is safe for
// concurrent use: calls may overlap (each gets its own request id), and
// Close may be called at any time, more than once.
type Session struct {
	cfg  Config
	log  zerolog.Logger
	proc *process
	w    *writer
	init initializeInfo // set by Start before the Session is returned
	// meta holds the _meta entries every request carries in the stateless
	// protocol (Config.ProtocolVersion); nil in the handshake era.
	meta map[string]json.RawMessage

	nextID atomic.Int64

	mu       sync.Mutex // guards pending, incoming, lostErr, lastCall, answerTime
	pending  map[int64]*pendingCall
	incoming map[string]context.CancelFunc // the child's requests being answered
	lostErr  error

	done     chan struct{} // closed when the connection is lost
	closing  chan struct{} // closed when Close begins
	readDone chan struct{} // closed when reading the child's output has ended

	rtok        chan *lineReader // holds the line reader while nobody reads (see read.go)
	callerReads bool             // calls read their answers themselves; set before reading starts
	calls       atomic.Uint64    // calls started, for the background reader to give way
	lastCall    time.Time        // when the last call started
	answerTime  time.Duration    // moving average of the child's answer times
	pr          *pipepoll.Reader // the child's stdout, under the line reader
	readEnd     sync.Once        // closes readDone
	wg          sync.WaitGroup
	rwg         sync.WaitGroup // the background reader and the stderr reader

	closeOnce sync.Once
	closeErr  error
	stopStep  string
}

// pendingCall is a request of ours waiting for its answer.
type pendingCall struct {
	h        *Handlers
	internal bool            // health-check ping: never claims the child's messages
	token    json.RawMessage // caller's progress token, if it was replaced
	ch       chan callResult // buffered 1
	sent     time.Time       // when it was registered, to time the answer
}

type callResult struct {
	result json.RawMessage
	err    error
}

// Start spawns cfg.Command and performs the initialize handshake, or, with
// Config.ProtocolVersion, asks server/discover; ctx bounds both. On error
// the child has been stopped and reaped.
func Start(ctx context.Context, cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	proc, err := spawn(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("child", cfg.Name).Int("pid", proc.pid).Logger(),
		proc:     proc,
		pending:  make(map[int64]*pendingCall),
		incoming: make(map[string]context.CancelFunc),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		readDone: make(chan struct{}),
		rtok:     make(chan *lineReader, 1),
	}
	s.w = newWriter(proc.stdin, &s.wg)
	s.log.Debug().Strs("command", cfg.Command).Msg("child started")
	s.startLoops()
	open, what := s.initialize, "initializing"
	if cfg.ProtocolVersion == StatelessProtocolVersion {
		open, what = s.discover, "discovering"
	}
	if err := open(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s %q: %w", what, cfg.Name, err)
	}
	return s, nil
}

// startLoops starts the goroutines that reap the child, read its output
// while no call does, and log its stderr.
func (s *Session) startLoops() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.waitProcess()
	}()
	s.startReading()
	s.rwg.Add(1)
	go func() {
		defer s.rwg.Done()
		s.logStderr(s.proc.stderr)
	}()
}

// waitProcess reaps the child. If its stdout stays open after it exited
// (a grandchild holding it), the session is declared lost anyway once the
// reader had StopTimeout to drain what was written.
func (s *Session) waitProcess() {
	s.proc.wait()
	t := time.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-s.readDone:
	case <-s.closing:
	case <-t.C:
		s.connLost(fmt.Errorf("child exited: %v", s.proc.state))
	}
}

// Pid is the child's process id (also its process group id).
func (s *Session) Pid() int { return s.proc.pid }

// Name is the child's tag in logs.
func (s *Session) Name() string { return s.cfg.Name }

// Done is closed when the session is lost: the child exited, closed its
// output, sent something unreadable, or Close was called.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err reports why the session was lost, or nil while it is alive. It wraps
// ErrSessionLost.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lostErr
}

// ProcessState is the child's exit state once it has been reaped, else nil.
func (s *Session) ProcessState() *os.ProcessState {
	select {
	case <-s.proc.exited:
		return s.proc.state
	default:
		return nil
	}
}

// connLost marks the session lost with cause: every pending call fails with
// ErrSessionLost and every request the child made is cancelled.
func (s *Session) connLost(cause error) {
	s.mu.Lock()
	if s.lostErr != nil {
		s.mu.Unlock()
		return
	}
	s.lostErr = lostError(cause)
	pending, incoming := s.pending, s.incoming
	s.pending, s.incoming = map[int64]*pendingCall{}, map[string]context.CancelFunc{}
	s.mu.Unlock()
	close(s.done)
	for _, pc := range pending {
		pc.ch <- callResult{err: s.lostErr}
	}
	for _, cancel := range incoming {
		cancel()
	}
	if !errors.Is(cause, errClosed) {
		s.log.Warn().Err(cause).Msg("child session lost")
	}
}

// readError describes why reading stopped; at EOF it waits briefly for the
// child to be reaped so the error can say how it exited.
func (s *Session) readError(err error) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("reading from child: %w", err)
	}
	select {
	case <-s.closing:
		return errClosed
	default:
	}
	t := time.NewTimer(min(s.cfg.StopTimeout, time.Second))
	defer t.Stop()
	select {
	case <-s.proc.exited:
		return fmt.Errorf("child exited: %v", s.proc.state)
	case <-s.closing:
		return errClosed
	case <-t.C:
		return errors.New("child closed its output")
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
