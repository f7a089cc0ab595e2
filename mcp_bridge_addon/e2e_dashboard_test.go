package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// dashboardData is the part of the Ingress dashboard's api/dashboard the
// tests read.
type dashboardData struct {
	Status string `json:"status"`
	Health struct {
		Status       string `json:"status"`
		Dependencies map[string]struct {
			Status string `json:"status"`
		} `json:"dependencies"`
	} `json:"health"`
	Breaker string `json:"breaker"`
	Cache   *struct {
		Hits uint64 `json:"hits"`
	} `json:"cache"`
	Totals struct {
		Calls     int `json:"calls"`
		CacheHits int `json:"cache_hits"`
		Writes    int `json:"writes"`
	} `json:"totals"`
	Recent []struct {
		Tool    string `json:"tool"`
		Who     string `json:"who"`
		Cached  bool   `json:"cached"`
		Outcome string `json:"outcome"`
	} `json:"recent"`
	Audit *struct {
		File    string        `json:"file"`
		Entries []audit.Entry `json:"entries"`
	} `json:"audit"`
}

// ingressGet GETs path on the Ingress port as the Supervisor's proxy would
// (standalone, the port admits loopback) and decodes the JSON answer.
func ingressGet(t *testing.T, ingress, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ingress+path, nil)
	req.Header.Set("X-Ingress-Path", "/api/hassio_ingress/abc123")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("GET %s: %d %.300s: %v", path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode
}

// ingressPost POSTs a JSON body to the Ingress port with the Supervisor's
// user headers.
func ingressPost(t *testing.T, ingress, path, body string, header map[string]string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ingress+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %.300s", path, resp.StatusCode, raw)
	}
	return m
}

var aliceHeaders = map[string]string{"X-Ingress-Path": "/api/hassio_ingress/abc123",
	"X-Remote-User-Id": "a11ce0123456789", "X-Remote-User-Name": "alice", "X-Remote-User-Display-Name": "Alice"}

// TestServeDashboardKnownTraffic runs the simulated home, makes known
// calls (reads, some of them answered from the cache, and writes through
// the REST API, MCP over HTTP and Ingress as a Home Assistant user) and
// checks that the dashboard counts them, lists them with who made them,
// and that the audit log of writes survives a restart.
func TestServeDashboardKnownTraffic(t *testing.T) {
	ingressPort, data := freePort(t), t.TempDir()
	env := map[string]string{envIngressPort: strconv.Itoa(ingressPort), envData: data}
	b := startBridge(t, env, "--demo")
	b.waitSessions(t)
	ingress := fmt.Sprintf("http://127.0.0.1:%d", ingressPort)

	const light, reads = "light.kitchen_spots", 6
	cached := 0
	for range reads {
		if _, c := readState(t, b, light); c {
			cached++
		}
	}
	if cached == 0 {
		t.Fatal("no read was answered from the cache")
	}
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": light})
	cs := mcpSession(t, b.base+"/mcp", b.token, "2025-11-25")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "call_service",
		Arguments: map[string]any{"domain": "light", "service": "turn_off", "entity_id": light}}); err != nil || res.IsError {
		t.Fatalf("call_service over MCP: %v %+v", err, res)
	}
	ingressPost(t, ingress, "/mcp/tools/call",
		`{"name":"call_service","arguments":{"domain":"switch","service":"toggle","entity_id":"switch.coffee_machine"}}`, aliceHeaders)

	var d dashboardData
	if status := ingressGet(t, ingress, "/api/dashboard", &d); status != 200 {
		t.Fatalf("api/dashboard: %d", status)
	}
	if d.Totals.Calls != reads+3 || d.Totals.CacheHits != cached || d.Totals.Writes != 3 {
		t.Errorf("totals %+v; want %d calls, %d cache hits, 3 writes", d.Totals, reads+3, cached)
	}
	shownCached := 0
	for _, c := range d.Recent {
		if c.Cached {
			shownCached++
		}
	}
	if len(d.Recent) != reads+3 || shownCached != cached {
		t.Errorf("%d recent calls, %d cached; want %d and %d", len(d.Recent), shownCached, reads+3, cached)
	}
	if d.Cache == nil || d.Cache.Hits < uint64(cached) {
		t.Errorf("cache figures %+v; want at least %d hits", d.Cache, cached)
	}
	wantWho := []wantEntry{
		{"ha:a11ce0123456789", "Alice", "", "switch.toggle"},
		{"api-token", "", "e2e", "light.turn_off"}, // MCP over HTTP: the client's own name too
		{"api-token", "", "", "light.turn_on"},
	}
	checkAudit(t, "before the restart", d, wantWho)
	if want := filepath.Join(data, "audit.jsonl"); d.Audit.File != want {
		t.Errorf("audit file %q, want %q", d.Audit.File, want)
	}
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))

	env[envPort] = strings.TrimPrefix(b.base, "http://127.0.0.1:")
	b2 := startBridge(t, env, "--demo")
	b2.waitSessions(t)
	var again dashboardData
	ingressGet(t, ingress, "/api/dashboard", &again)
	checkAudit(t, "after the restart", again, wantWho)
	if again.Totals.Calls != 0 || len(again.Recent) != 0 {
		t.Errorf("after the restart: %d calls, %d recent; the counters start afresh", again.Totals.Calls, len(again.Recent))
	}
	raw, _ := os.ReadFile(filepath.Join(data, "audit.jsonl"))
	if strings.Contains(string(raw), b.token) || strings.Contains(b.stderr.String(), b.token) {
		t.Error("the audit file or the log holds the API token")
	}
	b2.stopAndCheckChildren(t, children(t, b2.cmd.Process.Pid))
}

// wantEntry is an expected audit entry.
type wantEntry struct{ who, user, client, service string }

// checkAudit checks the audit entries, newest first.
func checkAudit(t *testing.T, when string, d dashboardData, want []wantEntry) {
	t.Helper()
	if d.Audit == nil || len(d.Audit.Entries) != len(want) {
		t.Fatalf("%s: audit %+v; want %d entries", when, d.Audit, len(want))
	}
	for i, w := range want {
		e := d.Audit.Entries[i]
		if e.Who != w.who || e.User != w.user || e.Client != w.client || e.Service != w.service || e.Outcome != audit.OutcomeOK || len(e.Targets) != 1 {
			t.Errorf("%s: audit entry %d = %+v; want who %q user %q client %q service %q, ok, one target",
				when, i, e, w.who, w.user, w.client, w.service)
		}
	}
}

// TestServeAddonAuditWho runs the add-on as the Supervisor would and
// writes with its two credentials, the API token and the secret URL it
// announced to Home Assistant's MCP integration: the audit log in /data
// names each.
func TestServeAddonAuditWho(t *testing.T) {
	supervisorToken := randomToken("supervisor-")
	ha := simhome.NewServer(t, simhome.Options{Token: supervisorToken})
	ha.SetDiscoveryServices("mcp")
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"pool_min_sessions": 1, "pool_max_sessions": 1, "rate_limit_per_second": 0}`)
	data := t.TempDir()
	b := startBridge(t, map[string]string{envSupervisorToken: supervisorToken, envSupervisorURL: ha.URL(),
		envOptions: options, envData: data})
	msg := waitDiscovery(t, ha, b)
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.kitchen_spots"})
	u := strings.Replace(msg.Config["url"].(string), "://"+hostname(t)+":", "://127.0.0.1:", 1)
	cs := mcpSession(t, u, "", "2025-03-26")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "call_service",
		Arguments: map[string]any{"domain": "light", "service": "turn_off", "entity_id": "light.kitchen_spots"}}); err != nil || res.IsError {
		t.Fatalf("call_service through the announced URL: %v %+v", err, res)
	}
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))

	l, err := audit.Open(audit.Config{Path: filepath.Join(data, "audit.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	got := l.Recent(10)
	if len(got) != 2 || got[0].Who != "home-assistant" || got[0].Service != "light.turn_off" ||
		got[1].Who != "api-token" || got[1].Service != "light.turn_on" {
		t.Errorf("audit entries %+v; want light.turn_on by api-token, then light.turn_off by home-assistant", got)
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(u[strings.Index(u, "/hass/"):], "/hass/"), "/mcp")
	raw, _ := os.ReadFile(filepath.Join(data, "audit.jsonl"))
	for _, s := range []string{b.token, secret, supervisorToken} {
		if strings.Contains(string(raw), s) {
			t.Error("the audit file holds a secret")
		}
	}
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestServeDashboardOutages stops Home Assistant and then lets calls time
// out until the circuit breaker opens: /health, /mcp/status and the
// dashboard say so.
func TestServeDashboardOutages(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	file := filepath.Join(t.TempDir(), "bridge.yaml")
	writeFile(t, file, `queue:
  tool_timeouts_seconds: {get_entities: 1}
  max_retries: 0
circuit_breaker:
  failure_threshold: 2
  recovery_timeout_seconds: 300
cache:
  enabled: false
session_pool:
  min_connections: 1
  max_connections: 1
  target_connections: 1
`)
	ingressPort := freePort(t)
	b := startBridge(t, map[string]string{envHassURL: ha.URL(), envHassToken: ha.Token(), envConfig: file,
		envIngressPort: strconv.Itoa(ingressPort)})
	b.waitSessions(t)
	ingress := fmt.Sprintf("http://127.0.0.1:%d", ingressPort)

	ha.Stop()
	a := waitStatus(t, b.process, b.base+"/health", 503)
	if !strings.Contains(a.body, `"home_assistant":{"status":"unavailable"`) {
		t.Errorf("/health with Home Assistant stopped: %s", a.body)
	}
	var d dashboardData
	ingressGet(t, ingress, "/api/dashboard", &d)
	if d.Health.Status != "unhealthy" || d.Health.Dependencies["home_assistant"].Status != "unavailable" {
		t.Errorf("dashboard with Home Assistant stopped: health %+v", d.Health)
	}

	// Calls now wait for Home Assistant longer than their 1 s: each
	// timeout counts against the breaker.
	for i := 0; ; i++ {
		body := fmt.Sprintf(`{"name":"get_entities","arguments":{"domain":"light","limit":%d}}`, 10+i)
		status, m := b.post(t, "/mcp/tools/call", b.token, body)
		if status == http.StatusServiceUnavailable && strings.Contains(fmt.Sprint(m), "circuit breaker") {
			break
		}
		if i == 20 {
			t.Fatalf("the breaker did not open after %d calls; last answer %d %v", i+1, status, m)
		}
	}
	if a := request(t, b.base+"/mcp/status", b.token); !strings.Contains(a.body, `"circuit_breaker":{"state":"open"}`) ||
		!strings.Contains(a.body, `"status":"unhealthy"`) {
		t.Errorf("/mcp/status with the breaker open: %s", a.body)
	}
	if a := request(t, b.base+"/health", ""); a.status != 503 || !strings.Contains(a.body, `"circuit_breaker":{"status":"unavailable"`) {
		t.Errorf("/health with the breaker open: %d %s", a.status, a.body)
	}
	ingressGet(t, ingress, "/api/dashboard", &d)
	if d.Breaker != "open" || d.Status != "unhealthy" || d.Health.Dependencies["circuit_breaker"].Status != "unavailable" {
		t.Errorf("dashboard with the breaker open: breaker %q status %q health %+v", d.Breaker, d.Status, d.Health)
	}
	if len(d.Recent) == 0 || d.Recent[0].Outcome != "rejected" || d.Recent[len(d.Recent)-1].Outcome != "timeout" {
		t.Errorf("recent calls %+v; want timeouts, then a refusal", d.Recent)
	}

	if err := ha.Restart(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ingressGet(t, ingress, "/api/dashboard", &d)
		if d.Health.Dependencies["home_assistant"].Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard never saw Home Assistant back: %+v", d.Health)
		}
	}
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))
}
