package mcphttp

import (
	"context"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sessionTable is what the handler knows of the Streamable HTTP sessions,
// for the fast path (fastcall.go): who owns each, whether its calls can be
// answered without the SDK, the calls the fast path runs for it, and its
// idle timer. The SDK keeps its own table but no one else can read it, and
// its idle timer sees only the requests it serves; so the handler times
// sessions out itself (the SDK's SessionTimeout is off), counting the
// requests of both paths. Entries are added when the SDK answers an
// initialize with a session id and removed when the session ends here (idle
// or DELETE) or is found closed; there are never more than the SDK's
// sessions plus those closed since the last initialize. Safe for concurrent
// use.
type sessionTable struct {
	timeout time.Duration // idle time after which a session is closed

	mu   sync.Mutex // guards byID, adds
	byID map[string]*session
	adds uint64 // sessions added so far
}

// session is one Streamable HTTP session of the table.
type session struct {
	ss    *mcp.ServerSession
	owner string // the principal that opened it; the SDK refuses others
	added uint64 // sessionTable.adds before it was added
	// plain: the client cannot answer a child's requests and does not
	// speak the 2026-07-28 era, so no call of it needs the SDK's session.
	plain bool

	mu      sync.Mutex // guards the fields below
	logging bool       // the client set a log level: log messages go on the call's stream
	refs    int        // POSTs being served; the idle timer runs at zero
	timer   *time.Timer
	calls   map[jsonrpc.ID]context.CancelFunc // calls the fast path runs
}

func (t *sessionTable) get(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// count returns the number of sessions added so far; call it before
// taking the SDK's sessions for add.
func (t *sessionTable) count() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.adds
}

// add records the session ss, just initialized by owner, and forgets the
// sessions recorded before count returned seen that are missing from live
// (the SDK's sessions, taken after count): the SDK closed them. Sessions
// added since may be missing from live only because they were opened
// after it was taken.
func (t *sessionTable) add(ss *mcp.ServerSession, owner string, seen uint64, live map[string]bool) {
	p := ss.InitializeParams()
	s := &session{ss: ss, owner: owner, plain: p != nil && !answersRequests(ss) && !modern(ss)}
	id := ss.ID()
	t.mu.Lock()
	defer t.mu.Unlock()
	s.added = t.adds
	t.adds++
	for old, e := range t.byID {
		if e.added < seen && !live[old] {
			e.stop()
			delete(t.byID, old)
		}
	}
	if t.byID == nil {
		t.byID = map[string]*session{}
	}
	if t.timeout > 0 {
		s.timer = time.AfterFunc(t.timeout, func() {
			ss.Close()
			t.remove(id, s)
		})
	}
	t.byID[id] = s
}

// remove forgets the session id if it is still s, and stops its timer.
func (t *sessionTable) remove(id string, s *session) {
	t.mu.Lock()
	if t.byID[id] == s {
		delete(t.byID, id)
	}
	t.mu.Unlock()
	s.stop()
}

// stopTimers stops every session's idle timer, when the handler closes.
func (t *sessionTable) stopTimers() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.byID {
		s.stop()
	}
}

// servedBy reports whether the SDK serves principal's requests to the
// session: its owner's, or anyone's if it was opened anonymously.
func (s *session) servedBy(principal string) bool {
	return s.owner == "" || s.owner == principal
}

// start pauses the idle timer while a POST is served, as the SDK does.
func (s *session) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil && s.refs == 0 {
		s.timer.Stop()
	}
	s.refs++
}

// end restarts the idle timer when the last POST being served ends.
func (s *session) end(timeout time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.timer != nil && s.refs == 0 {
		s.timer.Reset(timeout)
	}
}

// stop stops the idle timer for good.
func (s *session) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

func (s *session) setLogging() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logging = true
}

// fast reports whether the fast path may answer the session's calls now.
func (s *session) fast() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plain && !s.logging
}

// addCall records a call the fast path runs, or reports false if a call
// with its id runs already.
func (s *session) addCall(id jsonrpc.ID, cancel context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.calls[id]; dup {
		return false
	}
	if s.calls == nil {
		s.calls = map[jsonrpc.ID]context.CancelFunc{}
	}
	s.calls[id] = cancel
	return true
}

func (s *session) endCall(id jsonrpc.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, id)
}

// cancelCall cancels the fast path's call id, as the SDK cancels its own on
// notifications/cancelled.
func (s *session) cancelCall(id jsonrpc.ID) {
	s.mu.Lock()
	cancel := s.calls[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
