package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
)

// Core is what MCP over HTTP needs from the bridge; *bridge.Bridge
// satisfies it.
type Core interface {
	Call(ctx context.Context, req bridge.Request) (bridge.Result, error)
	Forward(ctx context.Context, m bridge.Message) (json.RawMessage, error)
	ListTools(ctx context.Context, maxAge time.Duration) (bridge.ToolList, error)
	InitializeResult(ctx context.Context) (json.RawMessage, error)
	Listen(f bridge.Listener) (stop func())
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultKeepAlive      = 15 * time.Second
	DefaultSessionTimeout = time.Hour
	DefaultStartTimeout   = 10 * time.Second
	DefaultMaxSessions    = 1000
	DefaultInputTimeout   = 20 * time.Second
)

// Config configures a Handler. Core is required.
type Config struct {
	Core Core
	// Version is the bridge's version in serverInfo.
	Version string

	// Identity names the authenticated principal of a request that passed
	// the server's authentication (for instance "api-token"), or "" when
	// the server runs without authentication. Sessions are bound to it: a
	// session id presented by another principal is refused (403). If nil,
	// every request is anonymous.
	Identity func(*http.Request) string

	// AllowedOrigins lists the browser origins (scheme://host[:port]) whose
	// requests are served and get CORS headers; requests with any other
	// Origin header are refused with 403, except those from localhost.
	AllowedOrigins []string

	// MaxBodyBytes bounds a POST body. If zero, 1 MiB.
	MaxBodyBytes int64
	// MaxDepth bounds the JSON nesting of a POST body. If zero,
	// jsonlimit.DefaultMaxDepth.
	MaxDepth int
	// KeepAlive is the interval of SSE comment lines on otherwise quiet
	// event streams, so that proxies (Home Assistant's ingress, nginx) keep
	// them open and unbuffered. If zero, 15s.
	KeepAlive time.Duration
	// SessionTimeout closes a Streamable HTTP session unused this long. If
	// zero, 1h.
	SessionTimeout time.Duration
	// MaxSessions bounds the sessions open at once (Streamable HTTP and
	// SSE together); a client opening one more gets 503. If zero, 1000.
	MaxSessions int
	// StartTimeout bounds the wait for a first child (whose capabilities
	// the bridge declares) on the first request. If zero, 10s.
	StartTimeout time.Duration

	// InputTimeout bounds how long a 2026-07-28 client's call that needs
	// the client's input waits for the client to retry with it, when a
	// child in the handshake era asked by request (sampling, elicitation,
	// roots) and the bridge answered input_required: the child waits, busy,
	// all the while. Past it the call is cancelled in the child, and a
	// retry with its requestState is refused with an error saying so. The
	// call's own timeout bounds the whole call in any case. If zero, 20s.
	InputTimeout time.Duration

	// IngressPath trusts the X-Ingress-Path header that Home Assistant's
	// Ingress proxy sets to the prefix it serves the add-on under, so that
	// the URL an SSE stream announces for messages carries it. Set it only
	// on the Ingress port, which only the Supervisor can reach.
	IngressPath bool

	// Logger receives failures the client does not see in detail.
	Logger zerolog.Logger
}

// eventQueueSize bounds the children's notifications for every client
// (list changes, resource updates) waiting for slow clients.
const eventQueueSize = 1024

// Handler serves /mcp (Streamable HTTP) and /sse (HTTP+SSE). Build it with
// New; it is safe for concurrent use.
type Handler struct {
	cfg Config
	log zerolog.Logger

	mu         sync.Mutex // guards server, streamable, stateless, sse, stopListen
	server     *mcp.Server
	streamable http.Handler // sessions: protocol versions up to 2025-11-25
	stateless  http.Handler // the 2026-07-28 era
	sse        *sseHandler
	stopListen func()

	subs      subscriptions
	rounds    rounds
	mirror    toolMirror
	wg        sync.WaitGroup // calls running detached (rounds.go); Close waits
	closing   chan struct{}  // closed by Close: parked calls stop waiting for input
	closeOnce sync.Once
	events    *notifyQueue // notifications for every client, off the children's readers

	withPrincipal func(http.Handler) http.Handler // see identify

	sessions  sessionTable // Streamable HTTP sessions, for the fast path
	fastOn    atomic.Bool  // the fast path serves the calls it can (fastcall.go)
	fastCalls atomic.Int64 // calls the fast path answered
}

// New builds a Handler. The MCP server behind it is made on the first
// request, once a child has said what it can do.
func New(cfg Config) (*Handler, error) {
	if cfg.Core == nil {
		return nil, errors.New("mcphttp: Config.Core is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxDepth < 0 || cfg.KeepAlive < 0 || cfg.SessionTimeout < 0 || cfg.MaxSessions < 0 || cfg.InputTimeout < 0 {
		return nil, errors.New("mcphttp: limits must not be negative")
	}
	setDefault(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.MaxDepth, jsonlimit.DefaultMaxDepth)
	setDefault(&cfg.KeepAlive, DefaultKeepAlive)
	setDefault(&cfg.SessionTimeout, DefaultSessionTimeout)
	setDefault(&cfg.StartTimeout, DefaultStartTimeout)
	setDefault(&cfg.MaxSessions, DefaultMaxSessions)
	setDefault(&cfg.InputTimeout, DefaultInputTimeout)
	if cfg.Identity == nil {
		cfg.Identity = func(*http.Request) string { return "" }
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, closing: make(chan struct{}), events: newNotifyQueue(eventQueueSize)}
	h.withPrincipal = h.principalMiddleware()
	h.sessions.timeout = cfg.SessionTimeout
	h.fastOn.Store(true)
	return h, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Streamable returns the Streamable HTTP handler, for /mcp.
func (h *Handler) Streamable() http.Handler {
	return h.guard(func(w http.ResponseWriter, r *http.Request) {
		if err := h.checkRoom(r, false); err != nil {
			writeError(w, err)
			return
		}
		if modernEra(r) {
			if callsTool(r) {
				h.syncTools(r.Context())
			}
			h.identify(w, r, h.stateless.ServeHTTP)
			return
		}
		// The fast path asks Config.Identity itself; the SDK's token
		// middleware cost it 2 µs per call.
		if h.fastCall(w, r) {
			return
		}
		h.identify(w, r, h.serveSession)
	})
}

// serveSession has the SDK serve a request of the session era, and keeps
// the handler's session table (sessions.go) in step: a new session, its
// idle timer, its end on DELETE, and the fast path's calls that a
// notifications/cancelled names.
func (h *Handler) serveSession(w http.ResponseWriter, r *http.Request) {
	sid := r.Header.Get("Mcp-Session-Id")
	principal := h.cfg.Identity(r)
	var s *session
	if sid != "" {
		if s = h.sessions.get(sid); s != nil && !s.servedBy(principal) {
			s = nil // the SDK refuses the request
		}
	}
	switch {
	case r.Method == http.MethodPost && s != nil:
		h.cancelFast(r)
		s.start()
		defer s.end(h.sessions.timeout)
	case r.Method == http.MethodDelete && s != nil:
		defer h.sessions.remove(sid, s) // the SDK closes it
	}
	h.streamable.ServeHTTP(w, r)
	if r.Method == http.MethodPost && sid == "" {
		if id := w.Header().Get("Mcp-Session-Id"); id != "" {
			h.register(id, principal)
		}
	}
}

// register adds the session id, just opened by principal, to the session
// table.
func (h *Handler) register(id, principal string) {
	h.mu.Lock()
	server := h.server
	h.mu.Unlock()
	seen := h.sessions.count()
	live := map[string]bool{}
	var found *mcp.ServerSession
	for ss := range server.Sessions() {
		sid := ss.ID()
		live[sid] = true
		if sid == id {
			found = ss
		}
	}
	if found != nil && found.InitializeParams() != nil { // else the SDK closed it
		h.sessions.add(found, principal, seen, live)
	}
}

// SSE returns the HTTP+SSE handler, for /sse: GET opens the event stream,
// whose first event names the URL to POST messages to (/sse?sessionid=…).
func (h *Handler) SSE() http.Handler {
	return h.guard(func(w http.ResponseWriter, r *http.Request) {
		if err := h.checkRoom(r, true); err != nil {
			writeError(w, err)
			return
		}
		if p := r.Header.Get("X-Ingress-Path"); h.cfg.IngressPath && validPrefix(p) {
			r.URL.Path = p + r.URL.Path // the SDK announces the endpoint relative to it
		}
		h.sse.serve(w, r, h.cfg.Identity(r), h.fastSSE)
	})
}

// validPrefix reports whether p is a path prefix Ingress could have set:
// absolute, without a trailing slash, dots or characters to escape.
func validPrefix(p string) bool {
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/' || strings.Contains(p, "..") {
		return false
	}
	for _, c := range p {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_-.", c)
		if !ok {
			return false
		}
	}
	return true
}

// Close stops listening to the bridge's notifications and timing sessions
// out, tells the children waiting for a client's input that none will
// come, and waits for the calls
// still running detached. Call it when the server stops accepting requests,
// while the bridge still runs.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closing) })
	defer h.events.finish()
	h.sessions.stopTimers()
	h.mu.Lock()
	if h.stopListen != nil {
		h.stopListen()
		h.stopListen = nil
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// ready builds the MCP server on first use, from a child's initialize
// result.
func (h *Handler) ready(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.server != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancel()
	raw, err := h.cfg.Core.InitializeResult(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
	}
	server, err := h.newServer(raw)
	if err != nil {
		return err
	}
	h.server = server
	if l, err := h.cfg.Core.ListTools(ctx, -1); err == nil {
		h.mirror.sync(server, l) // before any session: no one to notify yet
	}
	getServer := func(*http.Request) *mcp.Server { return server }
	h.streamable = mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		// The session table times sessions out (sessions.go): the SDK's
		// timer would not see the fast path's calls.
		MaxRequestBodyBytes: h.cfg.MaxBodyBytes,
		Logger:              slog.New(slog.DiscardHandler),
	})
	h.stateless = mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		Stateless:           true,
		MaxRequestBodyBytes: h.cfg.MaxBodyBytes,
		Logger:              slog.New(slog.DiscardHandler),
		// The client closing a request's stream cancels it, as the
		// 2026-07-28 specification requires.
		PropagateRequestCancellation: true,
	})
	h.sse = &sseHandler{server: server, maxBody: h.cfg.MaxBodyBytes, identify: h.identify}
	h.stopListen = h.cfg.Core.Listen(h.notify)
	return nil
}

// childInit is the part of a child's initialize result the bridge declares
// as its own.
type childInit struct {
	Capabilities mcp.ServerCapabilities `json:"capabilities"`
	ServerInfo   mcp.Implementation     `json:"serverInfo"`
	Instructions string                 `json:"instructions"`
}

// newServer makes the SDK server that speaks for the children.
func (h *Handler) newServer(initResult json.RawMessage) (*mcp.Server, error) {
	var ci childInit
	if err := json.Unmarshal(initResult, &ci); err != nil {
		return nil, fmt.Errorf("%w: decoding a child's initialize result: %w", bridge.ErrBadResult, err)
	}
	caps := ci.Capabilities
	// The SDK answers logging/setLevel for each client and filters the
	// children's log messages by it; the children are asked for all.
	caps.Logging = &mcp.LoggingCapabilities{}
	opts := &mcp.ServerOptions{
		Instructions: ci.Instructions,
		Capabilities: &caps,
		Logger:       slog.New(slog.DiscardHandler),
	}
	if caps.Resources != nil && caps.Resources.Subscribe {
		opts.SubscribeHandler = h.subscribe
		opts.UnsubscribeHandler = h.unsubscribe
	}
	title := ci.ServerInfo.Title
	if title == "" {
		title = ci.ServerInfo.Name
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "mcp-bridge", Title: title, Version: h.cfg.Version}, opts)
	s.AddReceivingMiddleware(h.relay)
	return s, nil
}

// identify runs serve with the request's principal where the SDK looks for
// the owner of a session: the SDK's own token middleware, made once in New,
// puts it there. A request without a principal goes as it is.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request, serve http.HandlerFunc) {
	if h.cfg.Identity(r) == "" {
		serve(w, r)
		return
	}
	h.withPrincipal(serve).ServeHTTP(w, bearer(r))
}

// principalMiddleware is the SDK's token middleware with a verifier that
// names the principal Config.Identity found: the server's own
// authentication has accepted the request already.
func (h *Handler) principalMiddleware() func(http.Handler) http.Handler {
	return auth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: h.cfg.Identity(r), Expiration: time.Now().Add(24 * time.Hour)}, nil
	}, nil)
}

// bearer returns r with an Authorization header for the SDK's token
// middleware, which reads one. The server's own authentication has already
// accepted the request; this header is never checked against a token.
func bearer(r *http.Request) *http.Request {
	if r.Header.Get("Authorization") != "" {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer authenticated")
	return r2
}

// modernEra reports whether a request belongs to the stateless 2026-07-28
// era: it says so in MCP-Protocol-Version, or, with no session, in its
// _meta (the stateless handler then tells the client that the header is
// required). Everything else, initialize first, is served with sessions.
// One endpoint serves both eras, as the specification allows.
func modernEra(r *http.Request) bool {
	if v := r.Header.Get("MCP-Protocol-Version"); v != "" {
		return v >= "2026-07-28"
	}
	if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" {
		return false
	}
	body, ok := r.Body.(*bodyReader)
	return ok && bytes.Contains(body.data, []byte(`"io.modelcontextprotocol/protocolVersion"`))
}

// errTooManySessions refuses a new session when MaxSessions are open.
var errTooManySessions = errors.New("too many MCP sessions are open; close unused ones or retry later")

// checkRoom refuses a request that would open a session when MaxSessions
// are open: an SSE stream, or a request without a session id in the
// session era. Sessions end on DELETE, when their stream closes, or after
// SessionTimeout unused.
func (h *Handler) checkRoom(r *http.Request, sse bool) error {
	opens := sse && r.Method == http.MethodGet ||
		!sse && r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" && !modernEra(r)
	if !opens {
		return nil
	}
	h.mu.Lock()
	s := h.server
	h.mu.Unlock()
	n := 0
	for range s.Sessions() {
		n++
	}
	if n >= h.cfg.MaxSessions {
		return errTooManySessions
	}
	return nil
}
