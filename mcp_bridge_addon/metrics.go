package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// metricsServer serves GET /metrics on monitoring.prometheus_port, for
// scrapers that want metrics apart from the API. It follows the API's token
// rules: with an API token it requires it; without one it listens on
// loopback (standalone) or refuses everything (add-on), like the API.
type metricsServer struct {
	addr   string
	token  string
	closed bool // add-on without a token: every request gets 401
	srv    *http.Server
	log    zerolog.Logger
	ln     net.Listener
}

func newMetricsServer(cfg *Config, g prometheus.Gatherer, log zerolog.Logger) *metricsServer {
	m := &metricsServer{
		addr:   net.JoinHostPort(apiHost(cfg), strconv.Itoa(cfg.Monitoring.PrometheusPort)),
		token:  cfg.Bridge.APIToken,
		closed: cfg.Bridge.APIToken == "" && cfg.Mode == ModeAddon,
		log:    log.With().Str("component", "metrics").Logger(),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.authorize(promhttp.HandlerFor(g, promhttp.HandlerOpts{})))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return m
}

// authorize checks the bearer token in constant time.
func (m *metricsServer) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case m.closed:
			http.Error(w, "metrics are disabled until api_token is set", http.StatusUnauthorized)
		case m.token != "" && (!ok || subtle.ConstantTimeCompare([]byte(got), []byte(m.token)) != 1):
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcp-bridge"`)
			http.Error(w, "missing or invalid bearer token", http.StatusUnauthorized)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Listen opens the port, so that serve reports a port in use at start.
func (m *metricsServer) Listen() error {
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return fmt.Errorf("metrics: listening on %s: %w", m.addr, err)
	}
	m.ln = ln
	return nil
}

// Run serves until ctx ends, then shuts down within 5 s.
func (m *metricsServer) Run(ctx context.Context) error {
	m.log.Info().Str("addr", m.ln.Addr().String()).Msg("serving metrics")
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(sctx); err != nil {
		m.srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
