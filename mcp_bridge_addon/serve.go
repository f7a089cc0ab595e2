package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// serve runs the bridge until ctx is cancelled: the Home Assistant client
// and the HTTP server, in one errgroup. Home Assistant being down is not an
// error: /health answers 503 until the client connects.
func serve(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	log.Info().Str("version", version).Str("mode", cfg.Mode).Msg("starting MCP Bridge")
	if cfg.Mode == ModeDemo {
		stopDemo, err := startDemo(cfg, log)
		if err != nil {
			return err
		}
		defer stopDemo()
	}
	client, err := hass.New(hass.Config{
		RESTURL:      cfg.HomeAssistant.RESTURL,
		WebSocketURL: cfg.HomeAssistant.WebSocketURL,
		Token:        cfg.HomeAssistant.Token,
		Logger:       log,
	})
	if err != nil {
		return fmt.Errorf("home assistant client: %w", err)
	}
	log.Info().Str("url", cfg.HomeAssistant.RESTURL).Msg("using home assistant")

	srv, err := httpapi.New(httpConfig(cfg, connectedPinger{client}, log))
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return client.Run(ctx) })
	g.Go(func() error { return srv.Run(ctx) })
	err = g.Wait()
	log.Info().Msg("stopped")
	return err
}

// httpConfig builds the HTTP server's configuration, applying the security
// defaults: without an API token the API is loopback-only (standalone) or
// closed (add-on), and Ingress admits only the Supervisor (and loopback
// outside the add-on).
func httpConfig(cfg *Config, health httpapi.HealthChecker, log zerolog.Logger) httpapi.Config {
	hc := httpapi.Config{
		Addr:                 net.JoinHostPort(apiHost(cfg), strconv.Itoa(cfg.Bridge.Port)),
		APIToken:             cfg.Bridge.APIToken,
		RequireToken:         cfg.Mode == ModeAddon,
		IngressAllowed:       []netip.Addr{httpapi.SupervisorAddr},
		IngressAllowLoopback: cfg.Mode != ModeAddon,
		Health:               health,
		HealthPath:           cfg.Monitoring.HealthCheckPath,
		Version:              version,
		Mode:                 cfg.Mode,
		Logger:               log.With().Str("component", "http").Logger(),
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

// connectPoll is how often connectedPinger looks at the client's state.
const connectPoll = 20 * time.Millisecond

func (p connectedPinger) Ping(ctx context.Context) (time.Duration, error) {
	if !p.client.Status().Connected {
		t := time.NewTicker(connectPoll)
		defer t.Stop()
		for !p.client.Status().Connected {
			select {
			case <-ctx.Done():
				return p.client.Ping(ctx) // fails at once, with the client's reason
			case <-t.C:
			}
		}
	}
	return p.client.Ping(ctx)
}
