package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// Defaults of MCPConfig.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultSessionTTL   = time.Hour
	DefaultMaxSessions  = 10000
)

// MCPBackend is what the /mcp routes need from the bridge core;
// *bridge.Bridge satisfies it.
type MCPBackend interface {
	Call(ctx context.Context, req bridge.Request) (bridge.Result, error)
	ListTools(ctx context.Context, maxAge time.Duration) (bridge.ToolList, error)
	Stats() bridge.Stats
}

// MCPConfig configures the REST API of the seed design: POST
// /mcp/initialize, /mcp/tools/list and /mcp/tools/call, GET /mcp/status and
// GET /metrics. Bridge is required.
type MCPConfig struct {
	Bridge MCPBackend

	// Version is shown in serverInfo and /mcp/status.
	Version string

	// Gatherer, if set, is served on GET /metrics (the project's registry).
	Gatherer prometheus.Gatherer

	// RateLimit limits requests per client on the /mcp routes (and /sse).
	RateLimit RateLimitConfig

	// Streamable, if set, serves MCP's Streamable HTTP transport at /mcp
	// (GET, POST, DELETE, OPTIONS); SSE, if set, the HTTP+SSE transport at
	// /sse (GET opens the stream, POST sends messages). Both sit behind the
	// same authentication and rate limit as the REST routes.
	Streamable, SSE http.Handler

	// MaxBodyBytes bounds request bodies. If zero, 1 MiB.
	MaxBodyBytes int64

	// MaxBodyBytesInFlight bounds the bytes of the request bodies held at
	// once (each counted at its Content-Length, or MaxBodyBytes); past it
	// requests get 503. If zero, 64 MiB.
	MaxBodyBytesInFlight int64

	// SessionTTL is how long a client session lives without use; MaxSessions
	// bounds how many exist. If zero, 1h and 10000.
	// Each session costs at most about 250 bytes (its id is at most 128),
	// so the default bounds the store to about 2.5 MiB.
	SessionTTL  time.Duration
	MaxSessions int

	// Client names who made a request, for the logs: the token's holder on
	// the host port, the Home Assistant user through Ingress. If nil, "".
	Client func(*http.Request) string

	// Logger receives failed requests (detail the client does not see).
	Logger zerolog.Logger
	// Registerer, if set, receives mcp_bridge_http_rate_limited_total.
	Registerer prometheus.Registerer
}

// Validate reports whether cfg can be used.
func (c MCPConfig) Validate() error {
	var errs []error
	if c.Bridge == nil {
		errs = append(errs, errors.New("httpapi: MCPConfig.Bridge is required"))
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytesInFlight < 0 || c.SessionTTL < 0 || c.MaxSessions < 0 {
		errs = append(errs, errors.New("httpapi: MCPConfig limits must not be negative"))
	}
	if c.MaxBodyBytesInFlight > 0 && c.MaxBodyBytesInFlight < cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes) {
		errs = append(errs, errors.New("httpapi: MCPConfig.MaxBodyBytesInFlight must be at least MaxBodyBytes"))
	}
	errs = append(errs, c.RateLimit.Validate())
	return errors.Join(errs...)
}

// MCP serves the /mcp REST routes. Build it with NewMCP and register it with
// Routes; it is safe for concurrent use.
type MCP struct {
	cfg         MCPConfig
	log         zerolog.Logger
	bridge      MCPBackend
	sessions    *restSessions
	rateLimited prometheus.Counter
	started     time.Time
}

// NewMCP builds the REST API from cfg.
func NewMCP(cfg MCPConfig) (*MCP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBodyBytesInFlight == 0 {
		cfg.MaxBodyBytesInFlight = max(DefaultMaxBodyBytesInFlight, cfg.MaxBodyBytes)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Client == nil {
		cfg.Client = func(*http.Request) string { return "" }
	}
	m := &MCP{
		cfg:      cfg,
		log:      cfg.Logger,
		bridge:   cfg.Bridge,
		sessions: newRESTSessions(cfg.SessionTTL, cfg.MaxSessions),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_bridge_http_rate_limited_total",
			Help: "Requests refused with 429 by the per-client rate limit.",
		}),
		started: time.Now(),
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.rateLimited); err != nil {
			return nil, fmt.Errorf("httpapi: registering metrics: %w", err)
		}
	}
	return m, nil
}

// Routes registers the routes on api; pass it as Config.Routes. The group
// is expected to sit behind the authentication middleware.
func (m *MCP) Routes(api *gin.RouterGroup) {
	g := api.Group("/mcp")
	sse := api.Group("/sse")
	if m.cfg.RateLimit.Enabled {
		limit := m.rateLimit(m.cfg.RateLimit) // one budget per client across routes
		g.Use(limit)
		sse.Use(limit)
	}
	if h := m.cfg.Streamable; h != nil {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodOptions} {
			g.Handle(method, "", gin.WrapH(h))
		}
	}
	if h := m.cfg.SSE; h != nil {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
			sse.Handle(method, "", gin.WrapH(h))
		}
	}
	g.Use(m.limitBodies())
	g.POST("/initialize", m.handleInitialize)
	g.POST("/tools/list", m.handleToolsList)
	g.POST("/tools/call", m.handleToolsCall)
	g.GET("/status", m.handleStatus)
	if m.cfg.Gatherer != nil {
		api.GET("/metrics", gin.WrapH(promhttp.HandlerFor(m.cfg.Gatherer, promhttp.HandlerOpts{})))
	}
}

// readBody reads the request body within MaxBodyBytes.
// A body announced larger is refused before any of it is read. Read errors
// are the client's (400, or 408 when the body is late; see limitBodyRead).
func (m *MCP) readBody(c *gin.Context) ([]byte, error) {
	if c.Request.ContentLength > m.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, m.cfg.MaxBodyBytes)
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, m.cfg.MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		if cause := bodyReadError(err); cause != errTooLarge {
			return nil, fmt.Errorf("%w: %w", cause, err)
		}
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, m.cfg.MaxBodyBytes)
	}
	return data, nil
}

// session checks X-Session-ID: absent is fine (sessions are optional),
// unknown or expired is 404 so that the client initializes again.
func (m *MCP) session(c *gin.Context) (string, error) {
	id := c.GetHeader("X-Session-ID")
	if id == "" {
		return "", nil
	}
	if !m.sessions.touch(id, time.Now()) {
		return "", errUnknownSession
	}
	return id, nil
}
