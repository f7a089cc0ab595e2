package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestMetricsServer serves /metrics on its own port with the API's token
// rules, and stops with its context.
func TestMetricsServer(t *testing.T) {
	const token = "metrics-token-0123456789"
	tests := []struct {
		name        string
		mode, token string
		sendToken   string
		wantStatus  int
	}{
		{"token required", ModeStandalone, token, "", http.StatusUnauthorized},
		{"wrong token", ModeStandalone, token, token + "x", http.StatusUnauthorized},
		{"right token", ModeStandalone, token, token, http.StatusOK},
		{"add-on without a token is closed", ModeAddon, "", "", http.StatusUnauthorized},
		{"standalone without a token, loopback", ModeStandalone, "", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig(tt.mode)
			cfg.Bridge.Host, cfg.Bridge.APIToken = "127.0.0.1", tt.token
			cfg.Monitoring.PrometheusPort = freePort(t)
			reg := prometheus.NewRegistry()
			reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "mcp_bridge_test_total", Help: "test"}))
			m := newMetricsServer(&cfg, reg, zerolog.New(zerolog.NewTestWriter(t)))
			if err := m.Listen(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()

			req, _ := http.NewRequest("GET", "http://"+m.ln.Addr().String()+"/metrics", nil)
			if tt.sendToken != "" {
				req.Header.Set("Authorization", "Bearer "+tt.sendToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if has := strings.Contains(string(body), "mcp_bridge_test_total 0"); has != (tt.wantStatus == http.StatusOK) {
				t.Errorf("body has the metric: %v; body %.200s", has, body)
			}
		})
	}
}
