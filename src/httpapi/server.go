package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Config configures a Server. Addr and Health are required.
type Config struct {
	// Addr is the main API's listen address, "host:port". Port 0 picks a
	// free port (see Server.Addr).
	Addr string

	// IngressAddr is the Ingress listener's address. If empty, there is no
	// Ingress listener.
	IngressAddr string

	// IngressAllowed lists the peer addresses admitted on the Ingress port.
	// If nil, defaults to SupervisorAddr alone.
	IngressAllowed []netip.Addr

	// IngressAllowLoopback also admits loopback peers on the Ingress port,
	// for standalone and demo runs where no Supervisor proxies Ingress.
	IngressAllowLoopback bool

	// APIToken, if set, is required as "Authorization: Bearer <token>" on
	// every main-API route but the health path. Never logged.
	APIToken string

	// ShowAPIToken shows APIToken on the Ingress status page, with a copy
	// button. Set it for a token the user did not choose (generated at the
	// first start): the page, reachable only through Home Assistant's
	// login, is where they find it.
	ShowAPIToken bool

	// RequireToken makes a missing APIToken close the main API (every route
	// but health answers 401 saying api_token must be set) instead of
	// leaving it open. Set it when the port is reachable from the network.
	RequireToken bool

	// PathCredential, if set, also admits the client it names by a secret
	// in the URL path (see PathCredential).
	PathCredential *PathCredential

	// MaxAuthFailures is how many failed authentications a client address
	// (IPv4 address or IPv6 /64) may make per AuthFailureWindow; past it
	// the address gets 429 with Retry-After on every route but health
	// until the window ends. If zero, 10 per minute.
	MaxAuthFailures   int
	AuthFailureWindow time.Duration

	// Health reports whether Home Assistant answers. Required.
	Health HealthChecker

	// HealthTimeout bounds one health check. If zero, defaults to 2s.
	HealthTimeout time.Duration

	// HealthPath is the health endpoint on both listeners. If empty,
	// defaults to "/health".
	HealthPath string

	// Version and Mode are shown on the status page.
	Version, Mode string

	// Routes, if set, registers extra routes on the main API. The group sits
	// behind the authentication middleware.
	Routes func(api *gin.RouterGroup)

	// IngressRoutes, if set, registers extra routes on the Ingress port,
	// behind its address check. Home Assistant has authenticated the user
	// there; IngressUser names them.
	IngressRoutes func(g *gin.RouterGroup)

	// NoStatusPage leaves GET / on the Ingress port to IngressRoutes (the
	// dashboard) instead of the built-in status page.
	NoStatusPage bool

	// BodyReadTimeout bounds the time a request body may take to arrive
	// after its headers; a request past it is answered 408 and its
	// connection closed. It is a read deadline only: answers (event
	// streams) may last longer. If zero, defaults to 30s.
	BodyReadTimeout time.Duration

	// MaxHeaderBytes bounds a request's line and headers; beyond it the
	// request is answered 431 with a JSON error. If zero, defaults to
	// 32 KiB. (net/http answers 431 in plain text past 1 MiB.)
	MaxHeaderBytes int

	// ShutdownTimeout bounds the graceful shutdown in Run. If zero, defaults
	// to 10s; connections still open then are closed.
	ShutdownTimeout time.Duration

	// Logger receives request logs (debug) and errors. The zero value logs
	// nothing.
	Logger zerolog.Logger

	// Registerer, if set, receives mcp_bridge_http_requests_total and
	// mcp_bridge_http_request_duration_seconds.
	Registerer prometheus.Registerer
}

// Validate reports whether the configuration can be served.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("httpapi: Config.Addr is required"))
	}
	if c.Health == nil {
		errs = append(errs, ErrNoHealthChecker)
	}
	if c.HealthPath != "" && !strings.HasPrefix(c.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("httpapi: HealthPath %q must start with /", c.HealthPath))
	}
	if strings.ContainsAny(c.APIToken, " \t\r\n") {
		errs = append(errs, errors.New("httpapi: APIToken must not contain whitespace"))
	}
	if err := c.PathCredential.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.HealthTimeout < 0 || c.ShutdownTimeout < 0 || c.BodyReadTimeout < 0 || c.MaxHeaderBytes < 0 ||
		c.MaxAuthFailures < 0 || c.AuthFailureWindow < 0 {
		errs = append(errs, errors.New("httpapi: timeouts must not be negative"))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.IngressAllowed == nil {
		c.IngressAllowed = []netip.Addr{SupervisorAddr}
	}
	if c.HealthTimeout == 0 {
		c.HealthTimeout = 2 * time.Second
	}
	if c.HealthPath == "" {
		c.HealthPath = "/health"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxAuthFailures == 0 {
		c.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if c.AuthFailureWindow == 0 {
		c.AuthFailureWindow = DefaultAuthFailureWindow
	}
}

// Server serves the main API and, if configured, the Ingress port. Its
// methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	health  *healthProbe
	metrics *httpMetrics
	started time.Time

	api     *gin.Engine
	ingress *gin.Engine
	apiHTTP http.Handler // api behind the PathCredential rewrite

	stopping shutdownSignal // fired as the shutdown starts; ends event streams
	fresh    freshConns     // connections that have sent no request yet

	mu        sync.Mutex // guards apiLn, ingressLn
	apiLn     net.Listener
	ingressLn net.Listener
}

// New builds a Server from cfg. It opens no port; see Listen and Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	gin.SetMode(gin.ReleaseMode)
	metrics, err := newHTTPMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		metrics: metrics,
		cfg:     cfg,
		log:     cfg.Logger,
		health: &healthProbe{
			checker: cfg.Health,
			timeout: cfg.HealthTimeout,
			now:     time.Now,
		},
		started: time.Now(),
	}
	s.api = s.newAPIEngine()
	s.apiHTTP = withPathCredential(cfg.PathCredential, s.api)
	if cfg.IngressAddr != "" {
		s.ingress = s.newIngressEngine()
	}
	return s, nil
}

func (s *Server) newEngine(listener string) *gin.Engine {
	e := gin.New()
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(nil) // the TCP peer is the client; never trust X-Forwarded-For
	e.Use(s.metrics.observe(listener))
	e.Use(logRequests(s.log, listener), recovery(s.log),
		limitHeaders(s.cfg.MaxHeaderBytes), limitBodyRead(s.cfg.BodyReadTimeout))
	e.NoRoute(notFound)
	e.HandleMethodNotAllowed = true
	e.NoMethod(methodNotAllowed)
	e.Use(s.endStreamsAtShutdown)
	if listener != "api" || s.cfg.APIToken == "" {
		e.Use(s.refuseWebPages) // listeners that ask for no token, which a page cannot attach anyway
	}
	return e
}

func (s *Server) newAPIEngine() *gin.Engine {
	e := s.newEngine("api")
	failures := newAuthFailures(s.cfg.MaxAuthFailures, s.cfg.AuthFailureWindow, s.log)
	e.Use(authenticate(s.cfg.APIToken, s.cfg.RequireToken, s.cfg.HealthPath, failures))
	e.GET(s.cfg.HealthPath, s.health.handleHealth)
	e.HEAD(s.cfg.HealthPath, s.health.handleHealth)
	s.registerRoutes(e.Group("/"))
	return e
}

func (s *Server) newIngressEngine() *gin.Engine {
	e := s.newEngine("ingress")
	e.Use(allowOnly(s.cfg.IngressAllowed, s.cfg.IngressAllowLoopback), markIngress)
	if !s.cfg.NoStatusPage {
		e.GET("/", s.handleStatusPage)
	}
	e.GET(s.cfg.HealthPath, s.health.handleHealth)
	if s.cfg.IngressRoutes != nil {
		s.cfg.IngressRoutes(e.Group("/"))
	}
	e.HEAD(s.cfg.HealthPath, s.health.handleHealth)
	return e
}

// CheckHealth returns the health that the health endpoint would answer
// now; concurrent checks share one probe.
func (s *Server) CheckHealth(ctx context.Context) Health { return s.health.check(ctx) }

// Handler returns the main API's handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.apiHTTP }

// IngressHandler returns the Ingress port's handler, or nil when
// Config.IngressAddr is empty.
func (s *Server) IngressHandler() http.Handler {
	if s.ingress == nil {
		return nil
	}
	return s.ingress
}
