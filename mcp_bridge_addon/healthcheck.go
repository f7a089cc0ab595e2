package main

import (
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

// runHealthcheck asks the local bridge's health endpoint and exits 0 on 200,
// 1 otherwise. It reads the same configuration as serve, so it probes the
// port and path that serve listens on, but it does not need Home Assistant
// to be configured.
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
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: %s answered %s: %s\n", url, resp.Status, body)
		return exitFailed
	}
	fmt.Fprintf(stdout, "healthy: %s\n", body)
	return exitOK
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
