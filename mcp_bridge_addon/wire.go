package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/dashboard"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// stack is every part of serve, built from the configuration and not yet
// running: HTTP -> bridge (queue) -> pool of stdio children -> Home
// Assistant, plus the bridge's own Home Assistant client for /health.
type stack struct {
	client  *hass.Client
	pool    *pool.Pool
	bridge  *bridge.Bridge
	http    *httpapi.Server
	cache   *cache.Cache       // nil when cache.enabled is false
	mcp     []*mcphttp.Handler // MCP over HTTP on the host port and on Ingress
	metrics *metricsServer     // nil unless monitoring.prometheus_port is set
	audit   *audit.Log         // nil when it cannot be opened
	dash    *dashboard.Dashboard

	discovery *discovery // nil unless the add-on offers itself to Home Assistant
	log       zerolog.Logger

	// fed, if set, is called with each event once the cache has applied
	// it: tests learn when an event reached the bridge.
	fed func(cache.Event)
	// synced is the Status.Since (UnixNano) of the connection on which the
	// cache's subscription last (re)synchronised: the cache counts as
	// connected only on that connection.
	synced atomic.Int64
}

// buildStack builds every component from cfg, sharing one Prometheus
// registry, around the audit log al (nil: none), kept at auditPath. It
// starts nothing and opens no port.
func buildStack(cfg *Config, al *audit.Log, auditPath string, log zerolog.Logger) (*stack, error) {
	reg := newRegistry()
	client, err := hass.New(hass.Config{
		RESTURL:      cfg.HomeAssistant.RESTURL,
		WebSocketURL: cfg.HomeAssistant.WebSocketURL,
		Token:        cfg.HomeAssistant.Token,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("home assistant client: %w", err)
	}
	st := &stack{client: client, discovery: cfg.discovery, log: log}
	var b *bridge.Bridge // set below, before the pool runs
	pc, err := poolConfig(cfg, func() int { return b.QueueLength() }, func(child, method string, params json.RawMessage) {
		b.Notify(child, method, params)
	}, log, reg)
	if err != nil {
		return nil, err
	}
	if st.pool, err = pool.New(pc); err != nil {
		return nil, fmt.Errorf("session pool: %w", err)
	}
	bc := bridgeConfig(cfg, st.pool, log, reg)
	st.audit = al
	st.dash, err = newDashboard(cfg, al, auditPath, func() bridge.Stats { return b.Stats() },
		func(ctx context.Context) httpapi.Health { return st.http.CheckHealth(ctx) }, log)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	bc.OnCall = st.dash.Observe
	if cfg.Cache.Enabled {
		if st.cache, err = cache.New(cacheConfig(cfg, client, st.cacheConnected, log, reg)); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		profile := exposureProfile(cfg)
		bc.Cache, bc.CacheProfile, bc.Fallback = st.cache, profile, cacheFallback(st.cache, profile)
	}
	if b, err = bridge.New(bc); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	st.bridge = b
	hc := httpConfig(cfg, bridgeHealth{connectedPinger{client}, st.pool, b}, log)
	api, err := st.mcpRoutes(cfg, b, log, reg, false)
	if err != nil {
		return nil, err
	}
	ingress, err := st.mcpRoutes(cfg, b, log, reg, true)
	if err != nil {
		return nil, err
	}
	hc.Routes, hc.NoStatusPage = api.Routes, true
	hc.IngressRoutes = st.dash.RoutesAfter(ingress.Routes)
	hc.Registerer = reg
	if st.http, err = httpapi.New(hc); err != nil {
		return nil, fmt.Errorf("http server: %w", err)
	}
	if cfg.Monitoring.PrometheusEnabled && cfg.Monitoring.PrometheusPort != 0 {
		st.metrics = newMetricsServer(cfg, reg, log)
	}
	return st, nil
}

// newRegistry returns the registry every component registers its metrics
// on, with the Go runtime's and the process's own.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// statelessSessions is session_pool.stateless_connections as the pool
// counts it, where 0 means its default and a negative number none.
func statelessSessions(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// poolConfig maps session_pool onto the pool. queueLength feeds
// autoscaling with the calls waiting in the bridge's queue.
func poolConfig(cfg *Config, queueLength func() int, notify func(child, method string, params json.RawMessage), log zerolog.Logger, reg prometheus.Registerer) (pool.Config, error) {
	cmd, own, err := childCommand(cfg)
	if err != nil {
		return pool.Config{}, err
	}
	sp := cfg.SessionPool
	return pool.Config{
		Command: cmd,
		Env:     childEnv(cfg, own),
		// The target follows min and max when they move it out of range;
		// Validate refuses a target the user set out of range.
		MinSessions:           sp.MinConnections,
		MaxSessions:           sp.MaxConnections,
		TargetSessions:        max(sp.MinConnections, min(sp.TargetConnections, sp.MaxConnections)),
		AutoScale:             sp.AutoScale,
		IdleTimeout:           sp.IdleTimeout(),
		HealthCheckInterval:   sp.HealthCheckInterval(),
		MaxInflightPerSession: sp.MaxInflightPerSession,
		MaxStatelessSessions:  statelessSessions(sp.StatelessConnections),
		StopTimeout:           childStopStep,
		QueueLength:           queueLength,
		// The children may ask for what MCP clients can give; the bridge
		// passes each request to the client whose call made it.
		ClientCapabilities: json.RawMessage(`{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{"listChanged":true}}`),
		LogLevel:           "debug",
		Handlers: func(child string) *mcpconn.Handlers {
			return &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) {
				notify(child, method, params)
			}}
		},
		ClientVersion: version,
		Logger:        log,
		Registerer:    reg,
	}, nil
}

// bridgeConfig maps queue and circuit_breaker onto the bridge, which owns
// the queue. A call's time limit (queue wait included) is the tool's own
// (the seed's per-tool limits, or queue.tool_timeouts_seconds), else
// queue.timeout_seconds; callers may ask for another up to
// queue.max_timeout_seconds. queue.max_retries counts the attempts after
// the first.
func bridgeConfig(cfg *Config, p *pool.Pool, log zerolog.Logger, reg prometheus.Registerer) bridge.Config {
	q, cb := cfg.Queue, cfg.CircuitBreaker
	policies := bridge.DefaultToolPolicies()
	for name, secs := range q.ToolTimeoutsSeconds {
		pol := policies[name]
		pol.Timeout = seconds(secs)
		policies[name] = pol
	}
	return bridge.Config{
		Executor: p,
		Capacity: p.Capacity,
		Sessions: sessionStats(p),
		Queue: queue.Config{
			MaxSize:    q.MaxSize,
			Logger:     log.With().Str("component", "queue").Logger(),
			Registerer: reg,
		},
		Tools:             policies,
		StopGrace:         stopGrace,
		DefaultTimeout:    q.Timeout(),
		MaxTimeout:        max(q.MaxTimeout(), q.Timeout()),
		MaxAttempts:       q.MaxRetries + 1,
		DisableDedup:      !q.DeduplicationEnabled,
		DisablePriorities: !q.PriorityEnabled,
		Breaker: bridge.BreakerConfig{
			Disabled:         !cb.Enabled,
			FailureThreshold: cb.FailureThreshold,
			RecoveryTimeout:  cb.RecoveryTimeout(),
		},
		Logger:     log.With().Str("component", "bridge").Logger(),
		Registerer: reg,
	}
}

// mcpConfig maps rate_limiting and monitoring onto the /mcp routes. /metrics
// is served there unless monitoring.prometheus_port gives it its own port.
func mcpConfig(cfg *Config, b *bridge.Bridge, log zerolog.Logger, reg *prometheus.Registry) httpapi.MCPConfig {
	rl := cfg.RateLimiting
	mc := httpapi.MCPConfig{
		Bridge:  b,
		Version: version,
		RateLimit: httpapi.RateLimitConfig{
			Enabled:           rl.Enabled,
			RequestsPerSecond: rl.RequestsPerSecond,
			BurstCapacity:     rl.BurstCapacity,
		},
		Logger:     log.With().Str("component", "mcp").Logger(),
		Registerer: reg,
	}
	if cfg.Monitoring.PrometheusEnabled && cfg.Monitoring.PrometheusPort == 0 {
		mc.Gatherer = reg
	}
	return mc
}

// mcpRoutes builds the REST API and MCP over HTTP (/mcp, /sse) for the host
// port or, with ingress, for the Ingress port. On the host port, sessions
// and calls belong to the bearer token's holder (anonymous without a token,
// standalone on loopback); through Ingress, to the Home Assistant user, who
// Home Assistant has authenticated, with no rate limit of the bridge's own
// (every Ingress request comes from the Supervisor's one address).
func (st *stack) mcpRoutes(cfg *Config, b *bridge.Bridge, log zerolog.Logger, reg *prometheus.Registry, ingress bool) (*httpapi.MCP, error) {
	principal := ""
	if cfg.Bridge.APIToken != "" {
		principal = "api-token"
	}
	identity := func(r *http.Request) string {
		if p := httpapi.PathPrincipal(r); p != "" {
			return p // Home Assistant's MCP integration, through the discovered URL
		}
		return principal
	}
	if ingress {
		identity = httpapi.IngressUser
	}
	h, err := mcphttp.New(mcphttp.Config{
		Core:         b,
		Version:      version,
		Identity:     identity,
		IngressPath:  ingress,
		InputTimeout: cfg.Queue.InputTimeout(),
		Logger:       log.With().Str("component", "mcphttp").Bool("ingress", ingress).Logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("MCP over HTTP: %w", err)
	}
	st.mcp = append(st.mcp, h)
	mc := mcpConfig(cfg, b, log, reg)
	mc.Streamable, mc.SSE, mc.Client = h.Streamable(), h.SSE(), identity
	if ingress {
		mc.RateLimit.Enabled = false
		mc.Gatherer, mc.Registerer = nil, nil // /metrics and its counters belong to the host port
	}
	rest, err := httpapi.NewMCP(mc)
	if err != nil {
		return nil, fmt.Errorf("MCP routes: %w", err)
	}
	return rest, nil
}

// cacheConfig maps cache onto the response cache. Home Assistant's own
// WebSocket connection (the bridge's client) says whether it is reachable
// (no stale answer then); connected says whether the cache's event
// subscription is live (nothing cached while it is not).
func cacheConfig(cfg *Config, client *hass.Client, connected func() bool, log zerolog.Logger, reg prometheus.Registerer) cache.Config {
	c := cfg.Cache
	size := c.MaxSize
	if c.Levels.L1.MaxSize != 0 {
		size = c.Levels.L1.MaxSize
	}
	cc := cache.Config{
		MaxSize:    size,
		DefaultTTL: c.DefaultTTL(),
		Reachable:  func() bool { return client.Status().Connected },
		Connected:  connected,
		Logger:     log.With().Str("component", "cache").Logger(),
		Registerer: reg,
	}
	if c.Levels.L2.Enabled {
		cc.RedisURL = c.Levels.L2.URL
	}
	return cc
}

// exposureProfile names the exposure settings, which shape every answer
// of our own tools: answers cached under one profile are not served under
// another (after the options change, or to another bridge sharing Redis).
func exposureProfile(cfg *Config) string {
	data, _ := json.Marshal(cfg.Tools)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// cacheFallback answers a read that no child could serve from the cache's
// last answer, flagged stale, while Home Assistant is unreachable.
func cacheFallback(c *cache.Cache, profile string) bridge.Fallback {
	return func(_ context.Context, req bridge.Request, cause error) (json.RawMessage, bool) {
		a, ok := c.Fallback(cache.Query{Tool: req.Tool, Args: req.Arguments, Profile: profile}, cause)
		return a.Raw, ok
	}
}

// cacheConnected reports whether the client is connected on the
// connection the cache's subscription has resynchronised on: between a
// reconnect and its Missed event, changes made while the bridge was away
// may still be cached.
func (st *stack) cacheConnected() bool {
	s := st.client.Status()
	return s.Connected && s.Since.UnixNano() == st.synced.Load()
}

// feedCache hands Home Assistant's events to the cache until ctx ends.
func (st *stack) feedCache(ctx context.Context) error {
	sub, err := st.client.Subscribe(ctx, "")
	if err != nil {
		return fmt.Errorf("cache: subscribing to Home Assistant's events: %w", err)
	}
	defer sub.Close()
	if s := st.client.Status(); s.Connected {
		st.synced.Store(s.Since.UnixNano()) // subscribed on this connection: no Missed comes
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-sub.Events():
			if !ok {
				return nil
			}
			ce := cache.Event{Type: ev.EventType, Data: ev.Data, Time: ev.TimeFired, Missed: ev.Missed}
			if ev.Missed {
				st.synced.Store(st.client.Status().Since.UnixNano())
			}
			st.cache.OnEvent(ce)
			if st.fed != nil {
				st.fed(ce)
			}
		}
	}
}
