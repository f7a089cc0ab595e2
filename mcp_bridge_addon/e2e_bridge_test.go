package main

// End-to-end tests of the whole bridge: the real binary serving HTTP, its
// queue, a pool of real stdio children (the same binary's stdio
// subcommand) and the fake Home Assistant.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// bridgeProc is a running "serve" and how to reach its API.
type bridgeProc struct {
	*process
	base, token string
}

// startBridge starts serve on a free loopback port with an API token, and
// waits until /health says the children are up.
func startBridge(t *testing.T, env map[string]string, args ...string) *bridgeProc {
	t.Helper()
	port := freePort(t)
	if p, err := strconv.Atoi(env[envPort]); err == nil {
		port = p // the caller's, to start again on the same port
	}
	b := &bridgeProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), token: randomToken("api-token-")}
	all := map[string]string{envToken: b.token, envPort: strconv.Itoa(port), envIngressPort: "0"}
	for k, v := range env {
		all[k] = v
	}
	b.process = start(t, all, append([]string{"serve", "--host", "127.0.0.1"}, args...)...)
	waitPort(t, b.process, port)
	return b
}

// post sends a JSON body with the token (if any) and decodes the answer.
func (b *bridgeProc) post(t *testing.T, path, token, body string) (int, map[string]any) {
	t.Helper()
	return b.postWith(t, path, token, body, nil)
}

// postWith is post with extra headers (empty values are left out).
func (b *bridgeProc) postWith(t *testing.T, path, token, body string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("POST %s: %d, body %.300q is not a JSON object: %v", path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, m
}

// callTool calls a tool through POST /mcp/tools/call and returns the text
// of its answer, failing the test on any error.
func (b *bridgeProc) callTool(t *testing.T, name string, args any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "arguments": args})
	status, m := b.post(t, "/mcp/tools/call", b.token, string(body))
	res, _ := m["result"].(map[string]any)
	if status != 200 || res == nil || res["isError"] == true {
		t.Fatalf("%s %s: %d %v", name, body, status, m)
	}
	var text strings.Builder
	content, _ := res["content"].([]any)
	for _, c := range content {
		if c, _ := c.(map[string]any); c["type"] == "text" {
			text.WriteString(c["text"].(string))
		}
	}
	return text.String()
}

// waitSessions polls /health until it is healthy with at least one MCP
// session, and returns the body.
func (b *bridgeProc) waitSessions(t *testing.T) string {
	t.Helper()
	a := waitStatus(t, b.process, b.base+"/health", 200)
	if !strings.Contains(a.body, `"mcp_sessions":{"status":"ok"`) {
		t.Fatalf("health without MCP sessions: %s", a.body)
	}
	return a.body
}

// children returns the pids of the processes whose parent is pid, read
// from /proc.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var kids []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, n)
		}
	}
	return kids
}

// childEnviron returns the environment of process pid.
func childEnviron(t *testing.T, pid int) []string {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatalf("reading the environment of child %d: %v", pid, err)
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

// stopAndCheckChildren sends SIGTERM, expects exit code 0 and every child
// in kids gone (not merely orphaned).
func (b *bridgeProc) stopAndCheckChildren(t *testing.T, kids []int) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	b.checkExit(t, kids)
}

// checkExit waits for the bridge to exit with 0 and checks that every child
// in kids is gone (not merely orphaned).
func (b *bridgeProc) checkExit(t *testing.T, kids []int) {
	t.Helper()
	if code := b.exitCode(t); code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	for _, pid := range kids {
		// The bridge waits for its children before exiting, so they are
		// gone already; the deadline only covers a slow /proc.
		deadline := time.Now().Add(10 * time.Second)
		for processAlive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("child %d still runs after the bridge exited", pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	f := strings.Fields(rest)
	return len(f) > 0 && f[0] != "Z"
}

// TestServeBridge runs the whole bridge against the fake Home Assistant:
// the REST API answers through real stdio children that see exactly the
// exposure settings of the bridge, the options size the pool, and SIGTERM
// stops everything, children included, with exit code 0.
func TestServeBridge(t *testing.T) {
	haToken := randomToken("ha-secret-")
	ha := simhome.NewServer(t, simhome.Options{Token: haToken})
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"pool_min_sessions": 2, "pool_max_sessions": 3, "blocked_entities": ["light.garage"],
		"request_timeout_seconds": 45, "rate_limit_per_second": 0}`)
	b := startBridge(t, map[string]string{envHassURL: ha.URL(), envHassToken: haToken, envOptions: options})
	health := b.waitSessions(t)
	t.Logf("health: %s", health)

	checkMCPAuth(t, b)
	checkInitializeAndList(t, b)

	lights := b.callTool(t, "get_entities", map[string]any{"domain": "light"})
	if !strings.Contains(lights, "light.kitchen_counter") || strings.Contains(lights, "light.garage") {
		t.Errorf("get_entities light: want light.kitchen_counter and not the blocked light.garage:\n%s", lights)
	}
	checkTurnOn(t, b, ha, "light.bedroom_lamp")
	checkStatusAndMetrics(t, b)

	kids := children(t, b.cmd.Process.Pid)
	if len(kids) < 2 || len(kids) > 3 {
		t.Errorf("bridge has %d children %v, want 2 or 3 (pool_min_sessions 2, pool_max_sessions 3)", len(kids), kids)
	}
	for _, pid := range kids {
		checkChildEnv(t, pid, b.token, haToken, ha.URL())
	}
	b.stopAndCheckChildren(t, kids)
	for _, secret := range []string{haToken, b.token} {
		if strings.Contains(b.stderr.String(), secret) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}
}

func checkMCPAuth(t *testing.T, b *bridgeProc) {
	t.Helper()
	for _, token := range []string{"", "wrong-" + b.token} {
		if status, m := b.post(t, "/mcp/tools/list", token, `{}`); status != 401 {
			t.Errorf("tools/list with token %q: %d %v, want 401", token, status, m)
		}
	}
}

// checkInitializeAndList opens a client session and lists our tools with
// their annotations.
func checkInitializeAndList(t *testing.T, b *bridgeProc) {
	t.Helper()
	status, m := b.post(t, "/mcp/initialize", b.token, `{"protocolVersion": "2025-06-18", "clientInfo": {"name": "e2e", "version": "1"}}`)
	res, _ := m["result"].(map[string]any)
	if status != 200 || res == nil || res["session_id"] == "" || res["protocolVersion"] != "2025-06-18" {
		t.Fatalf("initialize: %d %v", status, m)
	}
	status, m = b.post(t, "/mcp/tools/list", b.token, `{}`)
	tools, _ := m["tools"].([]any)
	if status != 200 || len(tools) == 0 {
		t.Fatalf("tools/list: %d %v", status, m)
	}
	hints := map[string]map[string]any{}
	for _, tool := range tools {
		tool := tool.(map[string]any)
		ann, _ := tool["annotations"].(map[string]any)
		hints[tool["name"].(string)] = ann
	}
	for _, name := range []string{"get_entities", "get_entity_state", "call_service", "get_history", "list_areas"} {
		if _, ok := hints[name]; !ok {
			t.Errorf("tools/list lacks %s; has %v", name, slices.Sorted(maps.Keys(hints)))
		}
	}
	if hints["get_entities"]["readOnlyHint"] != true {
		t.Errorf("get_entities annotations = %v, want readOnlyHint true", hints["get_entities"])
	}
	if hints["call_service"]["destructiveHint"] != true || hints["call_service"]["readOnlyHint"] == true {
		t.Errorf("call_service annotations = %v, want a destructive write", hints["call_service"])
	}
	if _, ok := hints["render_template"]; ok {
		t.Error("render_template is listed although blocked_entities is set: the children missed the exposure settings")
	}
}

// checkTurnOn turns entity on through call_service, then reads it back
// through get_entity_state and in the fake Home Assistant itself.
func checkTurnOn(t *testing.T, b *bridgeProc, ha *simhome.Server, entity string) {
	t.Helper()
	if st := stateOf(t, ha, entity); st != "off" {
		t.Fatalf("%s is %q before the test, want off", entity, st)
	}
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": entity})
	if st := stateOf(t, ha, entity); st != "on" {
		t.Errorf("Home Assistant has %s %q after turn_on, want on", entity, st)
	}
	text := b.callTool(t, "get_entity_state", map[string]any{"entity_id": entity})
	if !strings.Contains(text, entity) || !strings.Contains(text, "on") || strings.Contains(text, `state: off`) {
		t.Errorf("get_entity_state after turn_on:\n%s", text)
	}
}

func stateOf(t *testing.T, ha *simhome.Server, entity string) string {
	t.Helper()
	raw, ok := ha.State(entity)
	if !ok {
		t.Fatalf("no entity %s in the fake Home Assistant", entity)
	}
	var s struct{ State string }
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.State
}

func checkStatusAndMetrics(t *testing.T, b *bridgeProc) {
	t.Helper()
	a := request(t, b.base+"/mcp/status", b.token)
	var st struct {
		Sessions struct{ Active, Total int }
		Queue    map[string]any
	}
	if err := json.Unmarshal([]byte(a.body), &st); a.status != 200 || err != nil {
		t.Fatalf("status: %d %s (%v)", a.status, a.body, err)
	}
	if st.Sessions.Total < 2 || st.Sessions.Active < 1 || st.Queue["pending"] == nil {
		t.Errorf("status: %s", a.body)
	}
	m := request(t, b.base+"/metrics", b.token)
	for _, want := range []string{`mcp_bridge_pool_sessions\{state="idle"\} [1-9]`, "mcp_bridge_queue_wait_seconds_count [1-9]",
		`mcp_bridge_requests_total\{[^}]*tool_kind="write"[^}]*\} [1-9]`, "go_goroutines [1-9]"} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(m.body) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	if a := request(t, b.base+"/metrics", ""); a.status != 401 {
		t.Errorf("/metrics without a token: %d", a.status)
	}
}

// checkChildEnv checks what a child was given: its Home Assistant, the
// exposure settings, and never the API token.
func checkChildEnv(t *testing.T, pid int, apiToken, haToken, haURL string) {
	t.Helper()
	env := childEnviron(t, pid)
	for _, want := range []string{
		envToken + "=",
		envHassURL + "=" + haURL + "/api",
		envHassToken + "=" + haToken,
		envTools + `={"allowed_domains":[],"blocked_entities":["light.garage"],` +
			`"confirm_services":["lock.unlock","lock.open","alarm_control_panel.alarm_disarm","homeassistant.restart","homeassistant.stop"],"read_only":false}`,
	} {
		if !slices.Contains(env, want) {
			t.Errorf("child %d environment lacks %q", pid, want)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, apiToken) {
			t.Errorf("child %d environment holds the API token in %q", pid, kv)
		}
	}
}

// TestServeBridgeDemo checks that in demo mode the children reach the
// bridge's simulated home: a change made through one call is seen by the
// next, whichever child serves it.
func TestServeBridgeDemo(t *testing.T) {
	b := startBridge(t, nil, "--demo")
	b.waitSessions(t)
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.garage"})
	for range 4 { // more calls than children that may be idle: several children answer
		text := b.callTool(t, "get_entities", map[string]any{"domain": "light", "state": "on"})
		if !strings.Contains(text, "light.garage") {
			t.Fatalf("a child does not see the light turned on by another:\n%s", text)
		}
	}
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))
}

// TestServeCustomCommand runs children from session_pool.command (here the
// same binary with its own simulated home) with session_pool.env.
func TestServeCustomCommand(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "bridge.yaml")
	writeFile(t, cfgFile, fmt.Sprintf("session_pool:\n  command: [%q, stdio, --demo]\n  min_connections: 1\n"+
		"  target_connections: 1\n  env:\n    E2E_MARK: custom-child\n", binary(t)))
	b := startBridge(t, map[string]string{envConfig: cfgFile}, "--demo")
	b.waitSessions(t)
	if text := b.callTool(t, "get_entities", map[string]any{"domain": "light"}); !strings.Contains(text, "light.garage") {
		t.Errorf("get_entities through the custom child:\n%s", text)
	}
	kids := children(t, b.cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("children %v, want one", kids)
	}
	env := childEnviron(t, kids[0])
	if !slices.Contains(env, "E2E_MARK=custom-child") || !slices.Contains(env, envToken+"=") {
		t.Errorf("custom child environment lacks session_pool.env or the API token mask: %q", env)
	}
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, envTools+"=") }) {
		t.Errorf("custom child got %s, meant for our own child", envTools)
	}
	b.stopAndCheckChildren(t, kids)
}

// TestServeChildrenCannotStart points the pool at a program that does not
// exist: /health must say so, and calls fail fast instead of hanging.
func TestServeChildrenCannotStart(t *testing.T) {
	b := startBridge(t, map[string]string{envServerCommand: filepath.Join(t.TempDir(), "no-such-server")}, "--demo")
	a := waitStatus(t, b.process, b.base+"/health", 503)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(a.body, "cannot start") {
		// The first start may still be under way: poll until it has failed.
		if a = request(t, b.base+"/health", ""); a.status != 503 || time.Now().After(deadline) {
			t.Fatalf("health with no server program: %d %s", a.status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(a.body, `"home_assistant":{"status":"ok"`) {
		t.Errorf("health: %s", a.body)
	}
	status, m := b.post(t, "/mcp/tools/call", b.token, `{"name": "get_entities", "arguments": {}}`)
	if status < 500 {
		t.Errorf("tools/call with no server program: %d %v, want a 5xx", status, m)
	}
	b.stopAndCheckChildren(t, nil)
}

// TestServeDrainsOnSIGTERM sends SIGTERM while a write is running in a
// child: the call must still complete and be answered, and the bridge then
// exit with 0 and no child left.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	b := startBridge(t, map[string]string{envHassURL: ha.URL(), envHassToken: ha.Token()})
	b.waitSessions(t)
	kids := children(t, b.cmd.Process.Pid)
	// Every answer of Home Assistant is now slow (the call takes about a
	// second), yet within the 5 s that calls get to finish on a stop.
	ha.SetLatency(100 * time.Millisecond)

	type answer struct {
		status int
		body   map[string]any
	}
	done := make(chan answer, 1)
	go func() {
		status, m := b.post(t, "/mcp/tools/call", b.token,
			`{"name": "call_service", "arguments": {"domain": "light", "service": "turn_on", "entity_id": "light.bedroom_lamp"}}`)
		done <- answer{status, m}
	}()
	waitRunning(t, b)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if res, _ := a.body["result"].(map[string]any); a.status != 200 || res == nil || res["isError"] == true {
		t.Errorf("call in flight at SIGTERM: %d %v, want a successful answer", a.status, a.body)
	}
	if st := stateOf(t, ha, "light.bedroom_lamp"); st != "on" {
		t.Errorf("light.bedroom_lamp is %q, want on", st)
	}
	b.checkExit(t, kids)
}

// waitRunning polls /mcp/status until a call is running in a child.
func waitRunning(t *testing.T, b *bridgeProc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := request(t, b.base+"/mcp/status", b.token)
		var st struct{ Queue struct{ Processing int } }
		if err := json.Unmarshal([]byte(a.body), &st); err != nil {
			t.Fatalf("status %d %s: %v", a.status, a.body, err)
		}
		if st.Queue.Processing > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call running after 60 s: %s", a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeAddonMode runs serve as the Supervisor starts it: SUPERVISOR_TOKEN
// and SUPERVISOR_URL, options in options.json, and Home Assistant reached
// only through the Supervisor's proxy (/core/api, /core/websocket), by the
// bridge and by its children alike.
func TestServeAddonMode(t *testing.T) {
	supervisorToken := randomToken("supervisor-")
	ha := simhome.NewServer(t, simhome.Options{Token: supervisorToken})
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"log_level": "debug", "pool_min_sessions": 2, "pool_max_sessions": 2, "rate_limit_per_second": 0}`)
	b := startBridge(t, map[string]string{envSupervisorToken: supervisorToken, envSupervisorURL: ha.URL(),
		envOptions: options, envData: t.TempDir()})
	b.waitSessions(t)
	if !strings.Contains(b.stderr.String(), "addon") {
		t.Errorf("the log does not say add-on mode:\n%s", b.stderr.String())
	}
	checkTurnOn(t, b, ha, "light.living_room_floor_lamp")
	kids := children(t, b.cmd.Process.Pid)
	// The bridge and each child hold one WebSocket through the proxy (a
	// child connects in the background after its handshake: poll).
	for deadline := time.Now().Add(10 * time.Second); ha.SupervisorRequests() < int64(1+len(kids)) &&
		time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ha.SupervisorRequests(); n < int64(1+len(kids)) {
		t.Errorf("%d requests came through the Supervisor proxy, want at least %d (the bridge and %d children)",
			n, 1+len(kids), len(kids))
	}
	for _, pid := range kids {
		env := childEnviron(t, pid)
		for _, want := range []string{envSupervisorURL + "=" + ha.URL(), envSupervisorToken + "=" + supervisorToken} {
			if !slices.Contains(env, want) {
				t.Errorf("child %d environment lacks %q", pid, want)
			}
		}
		for _, kv := range env {
			if strings.HasPrefix(kv, envHassURL+"=") && kv != envHassURL+"=" {
				t.Errorf("child %d has %q: it must reach Home Assistant through the Supervisor", pid, kv)
			}
		}
	}
	b.stopAndCheckChildren(t, kids)
	if strings.Contains(b.stderr.String(), supervisorToken) {
		t.Error("the log holds SUPERVISOR_TOKEN")
	}
}
