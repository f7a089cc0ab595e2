package simhome

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultToken   = "test-token"
	DefaultVersion = "2026.11.2"
)

// ErrStarted is returned by Start on a server that is already started.
var ErrStarted = errors.New("simhome: server already started")

// ErrNotStarted is returned by Restart on a server that never started.
var ErrNotStarted = errors.New("simhome: server not started")

// ErrClosed is returned by Start and Restart after Close.
var ErrClosed = errors.New("simhome: server closed")

// TB is the part of testing.TB that NewServer needs; the package does not
// import "testing" because the add-on binary serves it with --demo.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Options configures a Server. The zero value is a DemoHome answering to
// DefaultToken.
type Options struct {
	Token   string        // accepted access token; if empty, DefaultToken
	Home    *Home         // initial house; if nil, DemoHome()
	Latency time.Duration // added before every answer (WebSocket and REST)
	Version string        // ha_version and get_config version; if empty, DefaultVersion
	// Now is the clock for state timestamps, event times and ids; if nil,
	// time.Now. Tests that compare timestamps set a fixed clock.
	Now func() time.Time
}

// Server is a fake Home Assistant. Create it with New or NewServer; it is
// safe for concurrent use.
type Server struct {
	token   string
	version string
	now     func() time.Time
	latency atomic.Int64 // time.Duration
	handler http.Handler

	supervisorRequests atomic.Int64 // requests through /core/ (supervisor.go)
	served             sync.Map     // request kind -> *atomic.Int64 (Served); kinds are routes and command types
	discoveryMu        sync.Mutex
	discovery          []DiscoveryMessage // (supervisor.go)
	discoveryServices  []string           // nil: every service is allowed

	opMu     sync.Mutex // serialises Start, Stop, Restart and Close
	lmu      sync.Mutex // guards addr, httpSrv, serveWG use, stopped, closed, active
	addr     string
	httpSrv  *http.Server
	serveWG  sync.WaitGroup // the Serve goroutine
	stopped  bool
	closed   bool
	active   int        // running HTTP handlers
	open     int        // TCP connections net/http serves (ConnState)
	idle     *sync.Cond // signalled when active drops, on lmu
	dropCtx  context.Context
	dropConn context.CancelFunc

	mu sync.Mutex // guards world
	w  world
}

// New returns a server holding a copy of opts.Home, not yet listening.
func New(opts Options) *Server {
	s := &Server{token: opts.Token, version: opts.Version, now: opts.Now}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.version == "" {
		s.version = DefaultVersion
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.latency.Store(int64(opts.Latency))
	s.idle = sync.NewCond(&s.lmu)
	home := opts.Home
	if home == nil {
		home = DemoHome()
	}
	s.w = newWorld(home.Clone(), s.clock())
	s.handler = s.routes()
	return s
}

// NewServer starts a server on 127.0.0.1:0 and closes it when the test ends.
func NewServer(t TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("simhome: starting fake Home Assistant: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// clock returns the current time in UTC, truncated to microseconds like
// Python datetimes.
func (s *Server) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves in the
// background until Stop or Close.
func (s *Server) Start(addr string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.httpSrv != nil:
		return ErrStarted
	}
	return s.listenLocked(addr)
}

func (s *Server) listenLocked(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simhome: listening on %s: %w", addr, err)
	}
	s.addr = ln.Addr().String()
	s.stopped = false
	s.dropCtx, s.dropConn = context.WithCancel(context.Background())
	srv := &http.Server{Handler: s.track(s.handler), ReadHeaderTimeout: 10 * time.Second, ConnState: s.connState}
	s.httpSrv = srv
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return nil
}

// track counts running handlers so Stop and Close can wait for them, and
// refuses requests that race with Stop.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.lmu.Lock()
		if s.stopped || s.closed {
			s.lmu.Unlock()
			http.Error(w, "503: Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		s.active++
		drop := s.dropCtx
		s.lmu.Unlock()
		defer func() {
			s.lmu.Lock()
			s.active--
			s.idle.Broadcast()
			s.lmu.Unlock()
		}()
		// Stop cancels drop: WebSocket handlers end with it.
		rctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(drop, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(rctx))
	})
}

// connState counts the connections whose goroutines net/http runs, so
// that Stop and Close return only once they are gone (a hijacked
// WebSocket connection is then counted by track).
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	switch state {
	case http.StateNew:
		s.open++
	case http.StateClosed, http.StateHijacked:
		s.open--
		s.idle.Broadcast()
	}
}

// Stop makes the server unreachable like a Home Assistant that shut down:
// the listener closes (new connections are refused), every WebSocket
// connection is dropped and Stop waits for all handlers to return. The
// address is kept for Restart.
func (s *Server) Stop() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.stopLocked()
}

// stopLocked closes the listener and waits for every handler and
// connection. It releases lmu while closing: net/http's Close waits for
// the Serve goroutine, which may be in connState waiting for lmu.
func (s *Server) stopLocked() {
	if s.httpSrv == nil || s.stopped {
		return
	}
	s.stopped = true
	srv := s.httpSrv
	s.dropConn()
	s.lmu.Unlock()
	_ = srv.Close() // closes the listener and idle/active HTTP conns
	s.serveWG.Wait()
	s.lmu.Lock()
	for s.active > 0 || s.open > 0 {
		s.idle.Wait()
	}
}

// Restart listens again on the address of the previous Start; the state of
// the house is kept, like a Home Assistant restart with a restored state.
func (s *Server) Restart() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.httpSrv == nil:
		return ErrNotStarted
	}
	s.stopLocked()
	return s.listenLocked(s.addr)
}

// Close stops the server for good and waits for every goroutine it
// started. It is safe to call more than once.
func (s *Server) Close() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.closed {
		return
	}
	s.stopLocked()
	s.closed = true
}

// DropConnections abruptly closes every WebSocket connection (no close
// frame), like a network failure; the server keeps listening.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.w.conns))
	for c := range s.w.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// URL returns "http://127.0.0.1:PORT".
func (s *Server) URL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return "http://" + s.addr
}

// RESTURL returns URL()+"/api".
func (s *Server) RESTURL() string { return s.URL() + "/api" }

// WebSocketURL returns "ws://127.0.0.1:PORT/api/websocket".
func (s *Server) WebSocketURL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return "ws://" + s.addr + "/api/websocket"
}

// Token returns the accepted access token.
func (s *Server) Token() string { return s.token }

// SetLatency sets the delay added before every answer.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// wait sleeps for the configured latency or until ctx is done.
func (s *Server) wait(ctx context.Context) error {
	d := time.Duration(s.latency.Load())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
