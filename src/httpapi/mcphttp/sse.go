package mcphttp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sseHandler serves the HTTP+SSE transport (2024-11-05) on the SDK's
// SSEServerTransport, as the SDK's SSEHandler does, for two things that
// handler does not do:
//
//   - It binds a session to the principal that opened it: the session id is
//     unknown (404) to every other, as a Streamable HTTP session is refused
//     to them (403). A client that learnt another's session id could
//     otherwise post into it and call tools as them.
//   - It knows each session's ServerSession and event stream, so that the
//     fast path (fastcall.go) can answer a plain tools/call on the POST's
//     goroutine and write the answer to the stream itself, as the SDK's
//     session would, without the SDK's two goroutine hand-offs.
//
// It is safe for concurrent use.
type sseHandler struct {
	server  *mcp.Server
	maxBody int64
	// identify runs what the SDK serves with the request's principal
	// where the SDK looks for it (Handler.identify).
	identify func(http.ResponseWriter, *http.Request, http.HandlerFunc)

	mu       sync.Mutex // guards sessions
	sessions map[string]*sseSession
}

// sseSession is one HTTP+SSE session: its stream, and what the fast path
// needs of it.
type sseSession struct {
	*session // owner, calls and logging; no ss, no idle timer
	t        *mcp.SSEServerTransport
	stream   *sseStream
	ctx      context.Context    // the GET's: done when the stream ends
	conn     *mcp.ServerSession // guarded by sseHandler.mu; nil until connected
}

// get returns the session id and its ServerSession, nil until connected.
func (x *sseHandler) get(id string) (*sseSession, *mcp.ServerSession) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.sessions[id]
	if s == nil {
		return nil, nil
	}
	return s, s.conn
}

// bySession returns the session whose ServerSession is ss, or nil.
func (x *sseHandler) bySession(ss *mcp.ServerSession) *session {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, s := range x.sessions {
		if s.conn == ss {
			return s.session
		}
	}
	return nil
}

// serve serves r for principal; fast answers a POST's plain tools/call if
// it can.
func (x *sseHandler) serve(w http.ResponseWriter, r *http.Request, principal string, fast func(http.ResponseWriter, *http.Request, *sseSession, *mcp.ServerSession) bool) {
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil {
		if loopback(local.String()) && !loopback(r.Host) {
			http.Error(w, fmt.Sprintf("Forbidden: invalid Host header %q", r.Host), http.StatusForbidden)
			return
		}
	}
	switch r.Method {
	case http.MethodPost:
		if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
			http.Error(w, "Content-Type must be 'application/json'", http.StatusUnsupportedMediaType)
			return
		}
		id := r.URL.Query().Get("sessionid")
		if id == "" {
			http.Error(w, "sessionid must be provided", http.StatusBadRequest)
			return
		}
		s, ss := x.get(id)
		if s == nil || s.owner != principal {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		if ss == nil || !fast(w, r, s, ss) {
			x.identify(w, r, s.t.ServeHTTP)
		}
	case http.MethodGet:
		x.identify(w, r, func(w http.ResponseWriter, r *http.Request) { x.serveStream(w, r, principal) })
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

// serveStream serves a session's event stream, for as long as the client
// keeps it or the session lasts.
func (x *sseHandler) serveStream(w http.ResponseWriter, r *http.Request, principal string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Connection", "keep-alive")
	id := rand.Text()
	endpoint, err := r.URL.Parse("?sessionid=" + id)
	if err != nil {
		http.Error(w, "internal error: failed to create endpoint", http.StatusInternalServerError)
		return
	}
	stream := &sseStream{w: w}
	defer stream.close() // before the handler returns: no write after it
	t := &mcp.SSEServerTransport{Endpoint: endpoint.RequestURI(), Response: stream, MaxRequestBodyBytes: x.maxBody}
	// plain: plainSSE asks the SDK session, once it is initialized.
	s := &sseSession{session: &session{owner: principal, plain: true}, t: t, stream: stream, ctx: r.Context()}
	// In the table before the endpoint event: the client may post at once.
	x.mu.Lock()
	if x.sessions == nil {
		x.sessions = map[string]*sseSession{}
	}
	x.sessions[id] = s
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		delete(x.sessions, id)
		x.mu.Unlock()
	}()
	ss, err := x.server.Connect(r.Context(), t, nil) // writes the endpoint event
	if err != nil {
		http.Error(w, "connection failed", http.StatusInternalServerError)
		return
	}
	x.mu.Lock()
	s.conn = ss
	x.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_ = ss.Wait()
	}()
	select {
	case <-r.Context().Done():
	case <-ended:
	}
	ss.Close()
	<-ended
}

// sseStream is the event stream the SDK's transport writes to, which the
// fast path writes to as well. Each event is written in one Write under
// mu, so that events never interleave, and none after close: the handler
// has returned.
type sseStream struct {
	w http.ResponseWriter

	mu     sync.Mutex // guards closed and writes to w
	closed bool
}

var errStreamClosed = errors.New("the event stream has ended")

func (s *sseStream) Header() http.Header { return s.w.Header() }

func (s *sseStream) WriteHeader(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.w.WriteHeader(status)
	}
}

func (s *sseStream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errStreamClosed
	}
	return s.w.Write(b)
}

func (s *sseStream) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		_ = http.NewResponseController(s.w).Flush()
	}
}

// message writes one JSON-RPC message as a message event, as the SDK's
// transport does.
func (s *sseStream) message(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return io.EOF
	}
	b := make([]byte, 0, len("event: message\ndata: \n\n")+len(data))
	b = append(b, "event: message\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return http.NewResponseController(s.w).Flush()
}

func (s *sseStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// fastSSE answers a plain tools/call posted to the HTTP+SSE session s on
// the POST's goroutine: the answer goes down the session's stream as a
// message event, then the POST gets 202 Accepted, as from the SDK. The call
// ends with the stream. It reports false, having done nothing, for any
// other message.
func (h *Handler) fastSSE(w http.ResponseWriter, r *http.Request, s *sseSession, ss *mcp.ServerSession) bool {
	h.cancelSSE(r, s)
	body, ok := r.Body.(*bodyReader)
	if !ok || !h.fastOn.Load() || !plainSSE(ss) || !s.fast() {
		return false
	}
	id, p, ok := parseCall(body.data)
	if !ok {
		return false
	}
	br, err := toolRequest(p.Name, p.Arguments, p.Meta, ss, s.owner)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	if !s.addCall(id, cancel) {
		return false
	}
	defer s.endCall(id)
	h.fastCalls.Add(1)
	data := h.answer(ctx, ss, id, br)
	if err := s.stream.message(data); err != nil {
		h.log.Debug().Err(err).Msg("the event stream ended before a call's answer")
	}
	w.WriteHeader(http.StatusAccepted)
	return true
}

// plainSSE reports whether an HTTP+SSE session's calls can be answered
// without the SDK: it is initialized (a call before would be refused), and
// its client cannot answer a child's requests.
func plainSSE(ss *mcp.ServerSession) bool {
	return ss.InitializeParams() != nil && !answersRequests(ss) && !modern(ss)
}

// cancelSSE cancels the fast call that a notifications/cancelled posted to
// s names.
func (h *Handler) cancelSSE(r *http.Request, s *sseSession) {
	if id, ok := cancelledID(r); ok {
		s.cancelCall(id)
	}
}
