package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// serve runs the bridge until ctx is cancelled: HTTP -> bridge (queue) ->
// pool of stdio MCP children -> Home Assistant, and the bridge's own Home
// Assistant client for /health, in one errgroup. Home Assistant being down
// is not an error: /health answers 503 until it is reachable, and the
// children reconnect on their own.
func serve(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	log.Info().Str("version", version).Str("mode", cfg.Mode).Msg("starting MCP Bridge")
	tuneGC(os.Getenv)
	if cfg.Mode == ModeDemo {
		stopDemo, err := startDemo(cfg, log)
		if err != nil {
			return err
		}
		defer stopDemo() // after the children, which use it, have stopped
	}
	if err := ensureAPIToken(cfg, log); err != nil {
		return err
	}
	prepareDiscovery(cfg, log)
	al, auditPath, removeAudit := openAudit(cfg, log)
	defer removeAudit()
	st, err := buildStack(cfg, al, auditPath, log)
	if err != nil {
		return err
	}
	log.Info().Str("url", cfg.HomeAssistant.RESTURL).Msg("using home assistant")
	if err := st.listen(); err != nil {
		return err
	}
	err = st.run(ctx)
	log.Info().Msg("stopped")
	return err
}

// listen opens every port before anything starts, so that a port in use
// fails the start with a clear message.
func (st *stack) listen() error {
	if st.metrics != nil {
		if err := st.metrics.Listen(); err != nil {
			return err
		}
	}
	if err := st.http.Listen(); err != nil {
		if st.metrics != nil {
			st.metrics.ln.Close()
		}
		return err
	}
	return nil
}

// run runs every part until ctx ends, then stops them in order: the HTTP
// server stops accepting and waits for the requests in flight while the
// bridge's queue refuses new calls and lets the running ones finish; only
// then does the pool stop its children (in the MCP specification's order)
// and wait for them, so that no call loses its child mid-way.
func (st *stack) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPool()
	httpDone, bridgeDone := make(chan struct{}), make(chan struct{})
	g.Go(func() error { return st.pool.Run(poolCtx) })
	g.Go(func() error { return st.client.Run(gctx) })
	if st.cache != nil {
		g.Go(func() error { return st.cache.Run(gctx) })
		g.Go(func() error { return st.feedCache(gctx) })
	}
	g.Go(func() error { defer close(bridgeDone); return st.bridge.Run(gctx) })
	g.Go(func() error { return st.dash.Run(gctx) })
	auditCtx, stopAudit := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAudit()
	if st.audit != nil {
		// Until the bridge has drained: the writes that finish then are
		// recorded too.
		g.Go(func() error { return st.audit.Run(auditCtx) })
	}
	g.Go(func() error { defer close(httpDone); return st.http.Run(gctx) })
	if st.metrics != nil {
		g.Go(func() error { return st.metrics.Run(gctx) })
	}
	if st.discovery != nil {
		g.Go(func() error { st.discovery.announce(gctx, supervisorClient, st.log); return nil })
	}
	g.Go(func() error {
		<-gctx.Done()
		for _, h := range st.mcp {
			h.Close() // calls parked for a client's input end; the bridge drains the rest
		}
		return nil
	})
	g.Go(func() error {
		<-httpDone
		<-bridgeDone
		stopAudit()
		stopPool()
		return nil
	})
	return g.Wait()
}

// httpConfig builds the HTTP server's configuration, applying the security
// defaults: without an API token the API is loopback-only (standalone) or
// closed (add-on, which normally has a generated token: see
// ensureAPIToken), and Ingress admits only the Supervisor (and loopback
// outside the add-on). A generated token is shown on the Ingress page, the
// one place where the user finds it without a shell.
func httpConfig(cfg *Config, health httpapi.HealthChecker, log zerolog.Logger) httpapi.Config {
	hc := httpapi.Config{
		Addr:                 net.JoinHostPort(apiHost(cfg), strconv.Itoa(cfg.Bridge.Port)),
		APIToken:             cfg.Bridge.APIToken,
		ShowAPIToken:         cfg.apiTokenFile != "",
		RequireToken:         cfg.Mode == ModeAddon,
		IngressAllowed:       []netip.Addr{httpapi.SupervisorAddr},
		IngressAllowLoopback: cfg.Mode != ModeAddon,
		Health:               health,
		HealthPath:           cfg.Monitoring.HealthCheckPath,
		Version:              version,
		Mode:                 cfg.Mode,
		ShutdownTimeout:      httpStopTimeout,
		Logger:               log.With().Str("component", "http").Logger(),
	}
	if cfg.discovery != nil {
		hc.PathCredential = cfg.discovery.credential()
	}
	if cfg.Bridge.IngressPort != 0 {
		ingressHost := "127.0.0.1"
		if cfg.Mode == ModeAddon {
			ingressHost = "0.0.0.0" // the Supervisor reaches us over the hassio network
		}
		hc.IngressAddr = net.JoinHostPort(ingressHost, strconv.Itoa(cfg.Bridge.IngressPort))
	}
	switch {
	case cfg.Bridge.APIToken != "":
	case cfg.Mode == ModeAddon:
		log.Warn().Msg("api_token is not set: the API port answers 401 to everything but /health " +
			"until you set api_token in the add-on options; the Ingress page keeps working")
	case hc.Addr != net.JoinHostPort(cfg.Bridge.Host, strconv.Itoa(cfg.Bridge.Port)):
		log.Warn().Str("addr", hc.Addr).Msg("no API token set (MCP_BRIDGE_TOKEN or bridge.api_token): " +
			"the API listens on loopback only until one is set")
	}
	return hc
}

// apiHost is the main API's bind address: bridge.host, except that outside
// the add-on an API without a token is kept on loopback.
func apiHost(cfg *Config) string {
	if cfg.Bridge.APIToken == "" && cfg.Mode != ModeAddon && !isLoopback(cfg.Bridge.Host) {
		return "127.0.0.1"
	}
	return cfg.Bridge.Host
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// connectedPinger is the health check on Home Assistant. While the client
// is (re)connecting it waits for the connection, within the health check's
// deadline, instead of failing at once: a /health right after start or
// during a reconnect then tells whether Home Assistant is reachable, not
// whether the first handshake happened to be over.
type connectedPinger struct{ client *hass.Client }

func (p connectedPinger) Ping(ctx context.Context) (time.Duration, error) {
	// When ctx ends first, Ping fails at once with the client's reason.
	_ = p.client.WaitConnected(ctx)
	return p.client.Ping(ctx)
}

// Garbage collector settings of serve, unless GOGC or GOMEMLIMIT are set:
// the MCP Go SDK decodes every message with a fresh 32 KiB buffer, so the
// HTTP transports make much short-lived garbage while the live heap stays
// small. Collecting at 5x the live heap rather than 2x halved the CPU of a
// Streamable HTTP call at c=1 on a 2-core machine (700-830 to about 390 µs,
// measured with the load harness); the soft limit keeps the heap of a bridge
// with a full cache within the add-on's memory budget.
const (
	serveGCPercent  = 400
	serveMemLimitMB = 96
)

// tuneGC applies the collector settings of serve.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(serveGCPercent)
	debug.SetMemoryLimit(serveMemLimitMB << 20)
}
