package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// healthcheckTimeout stays under the Dockerfile HEALTHCHECK's 5 s timeout.
const healthcheckTimeout = 4 * time.Second

// runHealthcheck asks the local bridge's health endpoint and exits 0 when
// the bridge answers it, healthy or not, and 1 when it does not answer. It
// is the container's health check, which the Supervisor's watchdog acts on
// by restarting the add-on: a restart cannot mend Home Assistant being
// restarted or updated, or a circuit breaker waiting to close, so only the
// bridge itself not answering counts. /health keeps reporting those
// dependencies (503) for monitoring. It reads the same configuration as
// serve, so it probes the port and path that serve listens on, but it does
// not need Home Assistant to be configured.
func runHealthcheck(args []string, stdout, stderr io.Writer, env environment) int {
	fv, err := parseFlags("healthcheck", args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "mcp_bridge_addon: %v\n", err)
		return exitUsage
	}
	cfg, _, err := buildConfig(loadInput{flags: fv, env: env, requireHA: false})
	if err != nil {
		reportConfigError(stderr, err)
		return exitUsage
	}
	url := "http://" + net.JoinHostPort(probeHost(cfg), strconv.Itoa(cfg.Bridge.Port)) + cfg.Monitoring.HealthCheckPath
	client := &http.Client{Timeout: healthcheckTimeout}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "unhealthy: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		fmt.Fprintf(stdout, "healthy: %s\n", body)
		return exitOK
	case resp.StatusCode == http.StatusServiceUnavailable && isHealthReport(body):
		fmt.Fprintf(stdout, "running, a dependency is down (not a reason to restart): %s\n", body)
		return exitOK
	}
	fmt.Fprintf(stderr, "unhealthy: %s answered %s: %s\n", url, resp.Status, body)
	return exitFailed
}

// isHealthReport reports whether body is the bridge's own /health answer,
// rather than something else answering on its port.
func isHealthReport(body []byte) bool {
	var h struct {
		Status       string          `json:"status"`
		Dependencies json.RawMessage `json:"dependencies"`
	}
	return json.Unmarshal(body, &h) == nil && h.Status != "" && len(h.Dependencies) > 0
}

// probeHost is where the bridge can be reached from inside its own
// container: loopback, unless it binds one specific other address.
func probeHost(cfg *Config) string {
	host := apiHost(cfg)
	if addr, err := netip.ParseAddr(host); err == nil && addr.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}
