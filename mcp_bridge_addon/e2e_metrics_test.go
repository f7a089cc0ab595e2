package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// promtool returns the path of Prometheus's promtool (Debian package
// prometheus; .ci/setup-system installs it). Without it the test skips,
// except under CI, where it fails.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (bash .ci/setup-system installs Debian's prometheus package)")
		}
		t.Skip("promtool is not installed (bash .ci/setup-system)")
	}
	return path
}

// seedMetrics are the seed's Prometheus metrics (BRIDGE_ARCHITECTURE.md,
// "Monitoring & Observabilité") and the series that stand for each, under
// Prometheus's conventions: a regular expression of a line of /metrics
// that the traffic of TestMetricsPromtool must produce.
var seedMetrics = []struct{ seed, series string }{
	{"request_duration_histogram", `mcp_bridge_http_request_duration_seconds_bucket\{endpoint="/mcp/tools/call",listener="api",method="POST",le="0.1"\} [1-9]`},
	{"queue_wait_time", `mcp_bridge_queue_wait_seconds_count [1-9]`},
	{"mcp_response_time", `mcp_bridge_pool_call_duration_seconds_count [1-9]`},
	{"requests_total", `mcp_bridge_http_requests_total\{code="200",endpoint="/mcp/tools/call",listener="api",method="POST"\} [1-9]`},
	{"requests_per_second", `mcp_bridge_requests_per_second [0-9.e+-]*[1-9]`},
	{"queue_size_current", `mcp_bridge_queue_pending 0`},
	{"queue_size_max", `mcp_bridge_queue_pending_max [0-9]`},
	{"active_sessions", `mcp_bridge_pool_sessions\{state="idle"\} [1-9]`},
	{"session_pool_utilization", `mcp_bridge_pool_utilization_ratio 0`},
	{"cache_hits_total", `mcp_bridge_cache_hits_total\{level="l1"\} [1-9]`},
	{"cache_misses_total", `mcp_bridge_cache_misses_total\{level="l1"\} [1-9]`},
	{"cache_evictions_total", `mcp_bridge_cache_evictions_total\{reason="size"\} 0`},
	{"errors_total", `mcp_bridge_errors_total\{severity="warning",type="unknown_tool"\} 1`},
	{"circuit_breaker_state", `mcp_bridge_circuit_breaker_state 0`},
	{"rate_limit_exceeded_total", `mcp_bridge_http_rate_limited_total 0`},
}

// TestMetricsPromtool runs the real bridge on the demo home, makes calls so
// that labelled series exist (a cache miss and hit, a write, a tool error,
// an unknown tool, a refused token), and checks /metrics: promtool check
// metrics reports no problem, every metric of the seed is there, and no
// label holds an entity id or an address.
func TestMetricsPromtool(t *testing.T) {
	tool := promtool(t)
	b := startBridge(t, nil, "--demo")
	b.waitSessions(t)
	const light = "light.living_room_ceiling"
	readState(t, b, light)
	if _, cached := readState(t, b, light); !cached {
		t.Error("a repeated read was not served from the cache")
	}
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": light})
	if status, m := b.post(t, "/mcp/tools/call", b.token, `{"name":"get_entity_state","arguments":{"entity_id":"light.nowhere"}}`); status != 200 ||
		m["result"].(map[string]any)["isError"] != true {
		t.Errorf("reading an unknown entity: %d %v", status, m)
	}
	if status, _ := b.post(t, "/mcp/tools/call", b.token, `{"name":"no_such_tool","arguments":{}}`); status != 404 {
		t.Errorf("unknown tool: %d, want 404", status)
	}
	if status, _ := b.post(t, "/mcp/tools/call", "wrong-token-0123456789", `{}`); status != 401 {
		t.Errorf("wrong token: %d, want 401", status)
	}
	m := request(t, b.base+"/metrics", b.token)
	if m.status != 200 {
		t.Fatalf("/metrics: %d %s", m.status, m.body)
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = strings.NewReader(m.body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, s := range seedMetrics {
		if !regexp.MustCompile(`(?m)^` + s.series + `$`).MatchString(m.body) {
			t.Errorf("seed metric %s: /metrics has no line matching %s", s.seed, s.series)
		}
	}
	if !regexp.MustCompile(`(?m)^mcp_bridge_errors_total\{severity="warning",type="tool_error"\} [1-9]`).MatchString(m.body) {
		t.Error("the tool error is not counted in mcp_bridge_errors_total")
	}
	if !regexp.MustCompile(`(?m)^mcp_bridge_http_requests_total\{code="401",[^}]*\} 1$`).MatchString(m.body) {
		t.Error("the refused token is not counted in mcp_bridge_http_requests_total")
	}
	port := b.base[strings.LastIndex(b.base, ":")+1:]
	for _, leak := range []string{light, "light.nowhere", "127.0.0.1", ":" + port, b.token} {
		for line := range strings.Lines(m.body) {
			if !strings.HasPrefix(line, "#") && strings.Contains(line, leak) {
				t.Errorf("a metric holds %q: %s", leak, line)
			}
		}
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("port of %s: %v", b.base, err)
	}
}
