package main

// End-to-end security tests: the real binary, attacked over HTTP the way a
// client on the network without the token, a web page in the user's
// browser (cross-origin requests, DNS rebinding) or a hostile client with
// the token (huge, deep or stalled bodies, forged session ids) would.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// Bodies of the MCP requests the attacks send.
const (
	initBody      = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-raw","version":"1"}}}`
	listBody      = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	securityProto = "2025-11-25"
)

// sourceIP hands out loopback source addresses, 127.0.0.10 and up, so that
// the requests of one check do not share the per-address budgets (rate
// limit, failed authentications) of the others.
var sourceIP atomic.Int32

func nextSourceIP() string { return fmt.Sprintf("127.0.0.%d", 10+sourceIP.Add(1)%240) }

// hreq is one HTTP request of an attack.
type hreq struct {
	method, path, body string
	token              string            // sent as a bearer token if set
	header             map[string]string // extra headers
	host               string            // the Host header, if set
	from               string            // the loopback source address, if set
}

// send makes r against b and returns the answer. Headers an MCP client sends
// are set unless r.header overrides them.
func (b *bridgeProc) send(t *testing.T, r hreq) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, b.base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.host != "" {
		req.Host = r.host
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if r.from != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(r.from)}
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body), resp.Header}
}

// jsonRPCError decodes an error answer's body: a JSON-RPC error with a
// code and a message. It returns the code, or fails the test.
func jsonRPCError(t *testing.T, what string, a answer) int {
	t.Helper()
	var m struct {
		JSONRPC string `json:"jsonrpc"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || m.JSONRPC != "2.0" || m.Error == nil || m.Error.Message == "" {
		t.Errorf("%s: %d body %.300q is not a JSON-RPC error", what, a.status, a.body)
		return 0
	}
	return m.Error.Code
}

// mcpAnswer returns the JSON-RPC message of an MCP POST's answer, from a
// JSON body or the last data line of an event stream.
func mcpAnswer(a answer) string {
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		return a.body
	}
	var last string
	for line := range strings.SplitSeq(a.body, "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok && strings.TrimSpace(d) != "" {
			last = strings.TrimSpace(d)
		}
	}
	return last
}

// initSession opens a Streamable HTTP session with raw requests and returns
// its id.
func (b *bridgeProc) initSession(t *testing.T) string {
	t.Helper()
	a := b.send(t, hreq{method: "POST", path: "/mcp", body: initBody, token: b.token})
	sid := a.header.Get("Mcp-Session-Id")
	if a.status != 200 || sid == "" || !strings.Contains(mcpAnswer(a), `"protocolVersion"`) {
		t.Fatalf("initialize: %d session %q %.300s", a.status, sid, a.body)
	}
	if a.header.Get("X-RateLimit-Limit") == "" || a.header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("initialize on /mcp: no X-RateLimit-* headers: %v", a.header)
	}
	a = b.send(t, hreq{method: "POST", path: "/mcp", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		token: b.token, header: sessionHeaders(sid)})
	if a.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %.300s", a.status, a.body)
	}
	return sid
}

func sessionHeaders(sid string) map[string]string {
	return map[string]string{"Mcp-Session-Id": sid, "MCP-Protocol-Version": securityProto}
}

// listTools lists the tools on session sid with a raw request.
func (b *bridgeProc) listTools(t *testing.T, sid string) answer {
	t.Helper()
	return b.send(t, hreq{method: "POST", path: "/mcp", body: listBody, token: b.token, header: sessionHeaders(sid)})
}

// checkAlive checks, after an attack, that /health is 200 and that an MCP
// client (the official Go SDK's) still lists the tools over /mcp and /sse.
func (b *bridgeProc) checkAlive(t *testing.T, after string) {
	t.Helper()
	if a := request(t, b.base+"/health", ""); a.status != 200 {
		t.Fatalf("after %s: /health = %d %s", after, a.status, a.body)
	}
	hc := &http.Client{Transport: bearerTransport{b.token}}
	for _, tr := range []mcp.Transport{
		&mcp.StreamableClientTransport{Endpoint: b.base + "/mcp", HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true},
		&mcp.SSEClientTransport{Endpoint: b.base + "/sse", HTTPClient: hc},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-sdk", Version: "1"}, nil).Connect(ctx, tr, nil)
		if err != nil {
			cancel()
			t.Fatalf("after %s: connecting with %T: %v", after, tr, err)
		}
		res, err := cs.ListTools(ctx, nil)
		cs.Close()
		cancel()
		if err != nil || !hasTool(res, "get_entities") {
			t.Fatalf("after %s: tools/list over %T: %v %v", after, tr, res, err)
		}
	}
}

func hasTool(res *mcp.ListToolsResult, name string) bool {
	if res == nil {
		return false
	}
	for _, tool := range res.Tools {
		if tool.Name == name {
			return true
		}
	}
	return false
}

// securityBridge starts the bridge in demo mode with a token, two children
// that do not scale (so that their pids tell whether one died) and a rate
// limit high enough for the test but still on (its headers are checked).
func securityBridge(t *testing.T) *bridgeProc {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "bridge.yaml")
	writeFile(t, cfgFile, "rate_limiting:\n  requests_per_second: 1000\n  burst_capacity: 100000\n"+
		"session_pool:\n  min_connections: 2\n  target_connections: 2\n  max_connections: 2\n  auto_scale: false\n")
	b := startBridge(t, map[string]string{envConfig: cfgFile}, "--demo")
	b.waitSessions(t)
	return b
}

// TestServeSecurityAuth: every route but /health requires the token, on
// /mcp and /sse as on the REST routes, with 401, WWW-Authenticate and a
// JSON-RPC error body; the token is never accepted in the query string.
func TestServeSecurityAuth(t *testing.T) {
	b := securityBridge(t)
	routes := []struct{ method, path, body string }{
		{"POST", "/mcp", initBody},
		{"GET", "/mcp", ""},
		{"DELETE", "/mcp", ""},
		{"OPTIONS", "/mcp", ""},
		{"GET", "/sse", ""},
		{"POST", "/sse?sessionid=AAAAAAAAAAAAAAAAAAAAAAAAAA", listBody},
		{"POST", "/mcp/initialize", `{}`},
		{"POST", "/mcp/tools/list", `{}`},
		{"POST", "/mcp/tools/call", `{"name":"call_service","arguments":{"domain":"light","service":"turn_on","entity_id":"light.garage"}}`},
		{"GET", "/mcp/status", ""},
		{"GET", "/metrics", ""},
		{"GET", "/no-such-route", ""},
	}
	for _, rt := range routes {
		for _, tc := range []struct {
			name, token, query string
			header             map[string]string
		}{
			{name: "no token"},
			{name: "wrong token", token: "wrong-" + b.token},
			{name: "token prefix", token: b.token[:len(b.token)-1]},
			{name: "token in the query", query: "access_token=" + url.QueryEscape(b.token)},
			{name: "basic scheme", header: map[string]string{"Authorization": "Basic " + b.token}},
		} {
			path := rt.path
			if tc.query != "" {
				path += map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")] + tc.query
			}
			what := fmt.Sprintf("%s %s, %s", rt.method, rt.path, tc.name)
			a := b.send(t, hreq{method: rt.method, path: path, body: rt.body, token: tc.token, header: tc.header, from: nextSourceIP()})
			if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: %d WWW-Authenticate %q; want 401 with a Bearer challenge", what, a.status, a.header.Get("WWW-Authenticate"))
				continue
			}
			if code := jsonRPCError(t, what, a); code != -31001 {
				t.Errorf("%s: JSON-RPC code %d, want -31001", what, code)
			}
		}
	}
	if text := b.callTool(t, "get_entities", map[string]any{"domain": "light", "state": "on"}); strings.Contains(text, "light.garage") {
		t.Errorf("an unauthenticated call_service turned light.garage on:\n%s", text)
	}
	if a := b.send(t, hreq{method: "GET", path: "/health", from: nextSourceIP()}); a.status != 200 {
		t.Errorf("/health without a token: %d %s, want 200", a.status, a.body)
	}
	b.checkAlive(t, "unauthenticated requests")
}

// TestServeSecurityBrowser: a web page in the user's browser must not drive
// the bridge. A foreign Origin is refused with 403 on /mcp and /sse, and a
// Host that is not loopback on the loopback listener (DNS rebinding) too.
// A localhost page is a local client and is served.
func TestServeSecurityBrowser(t *testing.T) {
	b := securityBridge(t)
	sid := b.initSession(t)
	endpoint, closeSSE := b.openSSE(t)
	defer closeSSE()
	b.checkForeignOrigins(t, sid, endpoint)
	b.checkAlive(t, "foreign origins")
	b.checkDNSRebinding(t)
	b.checkAlive(t, "DNS rebinding")
}

// checkForeignOrigins sends every kind of /mcp and /sse request with the
// token from foreign pages: each gets 403 with a JSON-RPC error and no CORS
// header, and the session they aimed at lives on.
func (b *bridgeProc) checkForeignOrigins(t *testing.T, sid, endpoint string) {
	t.Helper()
	forbidden := []hreq{
		{method: "POST", path: "/mcp", body: initBody},
		{method: "POST", path: "/mcp", body: listBody, header: sessionHeaders(sid)},
		{method: "GET", path: "/mcp", header: sessionHeaders(sid)},
		{method: "DELETE", path: "/mcp", header: sessionHeaders(sid)},
		{method: "OPTIONS", path: "/mcp"},
		{method: "GET", path: "/sse"},
		{method: "POST", path: endpoint, body: listBody},
	}
	for _, origin := range []string{"http://evil.example", "https://evil.example:3003", "null", "file://"} {
		for _, r := range forbidden {
			r.token, r.header = b.token, withHeader(r.header, "Origin", origin)
			what := fmt.Sprintf("%s %s with Origin %s", r.method, r.path, origin)
			a := b.send(t, r)
			if a.status != http.StatusForbidden {
				t.Errorf("%s: %d %.200s; want 403", what, a.status, a.body)
				continue
			}
			jsonRPCError(t, what, a)
			if a.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: CORS header %q on a refused origin", what, a.header.Get("Access-Control-Allow-Origin"))
			}
		}
	}
	if a := b.listTools(t, sid); a.status != 200 || !strings.Contains(mcpAnswer(a), "get_entities") {
		t.Errorf("the session after a foreign page's DELETE: %d %.300s; want it alive", a.status, a.body)
	}
}

// checkDNSRebinding sends /mcp and /sse requests, with the token, whose Host
// is not this machine although they arrive on loopback: 403. Local pages
// and local host names are served.
func (b *bridgeProc) checkDNSRebinding(t *testing.T) {
	t.Helper()
	port := strings.TrimPrefix(b.base, "http://127.0.0.1:")
	for _, host := range []string{"evil.example", "evil.example:" + port, "192.168.1.10:" + port} {
		for _, r := range []hreq{{method: "POST", path: "/mcp", body: initBody}, {method: "GET", path: "/sse"}} {
			r.host, r.token = host, b.token
			what := fmt.Sprintf("%s %s with Host %s", r.method, r.path, host)
			if a := b.send(t, r); a.status != http.StatusForbidden {
				t.Errorf("%s: %d %.200s; want 403 (DNS rebinding)", what, a.status, a.body)
			} else {
				jsonRPCError(t, what, a)
			}
		}
	}
	for _, local := range []struct{ origin, host string }{{"http://localhost:5173", ""}, {"", "localhost:" + port}} {
		a := b.send(t, hreq{method: "POST", path: "/mcp", body: initBody, token: b.token, host: local.host,
			header: withHeader(nil, "Origin", local.origin)})
		if a.status != 200 {
			t.Errorf("initialize from a local page (Origin %q, Host %q): %d %.200s; want 200", local.origin, local.host, a.status, a.body)
		}
	}
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for hk, hv := range h {
		out[hk] = hv
	}
	if v != "" {
		out[k] = v
	}
	return out
}

// openSSE opens an HTTP+SSE stream and returns the URL path its endpoint
// event names for POSTs, and a function that closes the stream.
func (b *bridgeProc) openSSE(t *testing.T) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/sse", nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /sse: %v", err)
	}
	stop := func() { cancel(); resp.Body.Close() }
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") == "" {
		stop()
		t.Fatalf("GET /sse: %s, X-RateLimit-Limit %q; want 200 with rate limit headers", resp.Status, resp.Header.Get("X-RateLimit-Limit"))
	}
	timer := time.AfterFunc(30*time.Second, stop)
	defer timer.Stop()
	sc := bufio.NewScanner(resp.Body)
	for event := ""; sc.Scan(); {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event:"); ok {
			event = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "data:"); ok && event == "endpoint" {
			u, err := url.Parse(strings.TrimSpace(v))
			if err != nil {
				stop()
				t.Fatalf("endpoint event %q: %v", v, err)
			}
			return u.RequestURI(), stop
		}
	}
	stop()
	t.Fatalf("GET /sse: no endpoint event: %v", sc.Err())
	return "", nil
}

// rawExchange sends a request whose head is written at once and whose body
// comes from write, and reads the answer while the body is still being
// written (a server refusing a body answers before it has all arrived).
// stop is closed once the answer has been read.
func rawExchange(t *testing.T, addr, head string, write func(w io.Writer, stop <-chan struct{})) (*http.Response, string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { write(conn, stop) })
	defer wg.Wait()
	defer conn.Close() // unblocks the writer
	defer close(stop)
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), nil
}

// rawHead is the head of a POST with the token and the given length.
func (b *bridgeProc) rawHead(path string, length int, extra map[string]string) string {
	var h strings.Builder
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nContent-Length: %d\r\n", path, strings.TrimPrefix(b.base, "http://"), b.token, length)
	for k, v := range extra {
		fmt.Fprintf(&h, "%s: %s\r\n", k, v)
	}
	h.WriteString("\r\n")
	return h.String()
}

// TestServeSecurityLimits: a 10 MiB body is refused with 413, JSON nested
// 100 000 deep with 400, both before any child sees them; session ids
// that do not exist (or no longer) get 404; a body that never arrives is
// answered within the body timeout without holding up anyone else. After
// each, /health is 200, MCP clients are served, and no child died.
func TestServeSecurityLimits(t *testing.T) {
	b := securityBridge(t)
	kids := children(t, b.cmd.Process.Pid)
	if len(kids) != 2 {
		t.Fatalf("children %v, want 2", kids)
	}
	sid := b.initSession(t)
	endpoint, closeSSE := b.openSSE(t)
	defer closeSSE()

	// The stalled body runs beside the other attacks: its 30 s (the
	// server's body read timeout, which no option shortens) must not hold
	// them up.
	slow := make(chan string, 1)
	slowStart := time.Now()
	go func() { slow <- b.stalledBody(sid) }()

	b.checkBigBodies(t, sid, endpoint)
	b.checkAlive(t, "10 MiB bodies")
	b.checkDeepJSON(t, sid, endpoint)
	b.checkAlive(t, "deep JSON")
	checkChildrenAlive(t, b, kids)

	b.checkSessionIDs(t, sid)
	b.checkAlive(t, "forged session ids")

	select {
	case msg := <-slow:
		if msg != "" {
			t.Error(msg)
		}
		t.Logf("stalled body ended after %v", time.Since(slowStart))
	case <-time.After(90 * time.Second):
		t.Error("a stalled body was neither answered nor closed after 90 s")
	}
	b.checkAlive(t, "a stalled body")
	checkChildrenAlive(t, b, kids)
	closeSSE()
	b.stopAndCheckChildren(t, kids)
}

// checkBigBodies posts 10 MiB to /mcp, the SSE message endpoint and
// /mcp/tools/call: 413 with a JSON-RPC error, answered while the body is
// still being sent.
func (b *bridgeProc) checkBigBodies(t *testing.T, sid, endpoint string) {
	t.Helper()
	const big = 10 << 20
	for _, path := range []string{"/mcp", endpoint, "/mcp/tools/call"} {
		head := b.rawHead(path, big, sessionHeaders(sid))
		resp, body, err := rawExchange(t, strings.TrimPrefix(b.base, "http://"), head, func(w io.Writer, stop <-chan struct{}) {
			io.WriteString(w, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_entities","arguments":{"pad":"`)
			chunk := []byte(strings.Repeat("a", 64<<10))
			for sent := 0; sent < big; sent += len(chunk) {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		if err != nil {
			t.Errorf("POST %s with 10 MiB: no answer: %v", path, err)
			continue
		}
		a := answer{resp.StatusCode, body, resp.Header}
		if a.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with 10 MiB: %d %.200s; want 413", path, a.status, a.body)
		} else if code := jsonRPCError(t, "POST "+path+" with 10 MiB", a); code != -31010 {
			t.Errorf("POST %s with 10 MiB: JSON-RPC code %d, want -31010", path, code)
		}
	}
}

// checkDeepJSON calls a tool with arguments nested 100 000 deep (200 KB)
// on /mcp, the SSE message endpoint and /mcp/tools/call: 400 saying so.
func (b *bridgeProc) checkDeepJSON(t *testing.T, sid, endpoint string) {
	t.Helper()
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	call := `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get_entities","arguments":{"domain":` + deep + `}}}`
	for _, r := range []hreq{
		{method: "POST", path: "/mcp", body: call, header: sessionHeaders(sid)},
		{method: "POST", path: endpoint, body: call},
		{method: "POST", path: "/mcp/tools/call", body: `{"name":"get_entities","arguments":{"domain":` + deep + `}}`},
	} {
		r.token = b.token
		a := b.send(t, r)
		what := "POST " + r.path + " nested 100 000 deep"
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %.200s; want 400", what, a.status, a.body)
			continue
		}
		jsonRPCError(t, what, a)
		if !strings.Contains(a.body, "nested too deeply") {
			t.Errorf("%s: %.200s; want a message saying it is nested too deeply", what, a.body)
		}
	}
}

// checkChildrenAlive fails if a child in kids is gone or the bridge has
// others.
func checkChildrenAlive(t *testing.T, b *bridgeProc, kids []int) {
	t.Helper()
	for _, pid := range kids {
		if !processAlive(pid) {
			t.Errorf("child %d died", pid)
		}
	}
	if now := children(t, b.cmd.Process.Pid); len(now) != len(kids) {
		t.Errorf("children %v, want %v", now, kids)
	}
}

// checkSessionIDs: a session id that does not exist, or no longer, gets
// 404 (the client must initialize again) and a missing one 400.
//
// Sessions are also bound to their owner (mcphttp.Config.Identity, the
// Go SDK's auth.TokenInfo): a session id presented by another principal
// gets 403. The bridge has one API token, hence one principal, so that
// cannot be attacked end to end; mcphttp's TestSessionOwner covers it with
// two principals.
func (b *bridgeProc) checkSessionIDs(t *testing.T, sid string) {
	t.Helper()
	for _, forged := range []string{"does-not-exist", strings.Repeat("A", 26), sid + "x"} {
		if a := b.listTools(t, forged); a.status != http.StatusNotFound {
			t.Errorf("tools/list on session %q: %d %.200s; want 404", forged, a.status, a.body)
		}
	}
	// Without a session id, the SDK answers a request other than
	// initialize in a session of its own, closed at once since it was
	// never initialized: an error, never a result.
	a := b.send(t, hreq{method: "POST", path: "/mcp", body: listBody, token: b.token,
		header: map[string]string{"MCP-Protocol-Version": securityProto}})
	if msg := mcpAnswer(a); a.status != http.StatusBadRequest && (a.status != 200 || !strings.Contains(msg, `"error"`) || strings.Contains(msg, `"result"`)) {
		t.Errorf("tools/list without a session id: %d %.200s; want 400 or a JSON-RPC error", a.status, a.body)
	}
	if a := b.listTools(t, sid); a.status != 200 || !strings.Contains(mcpAnswer(a), "get_entities") {
		t.Fatalf("tools/list on the real session: %d %.300s", a.status, a.body)
	}
	if a := b.send(t, hreq{method: "DELETE", path: "/mcp", token: b.token, header: sessionHeaders(sid)}); a.status/100 != 2 {
		t.Errorf("DELETE the session: %d %.200s; want 2xx", a.status, a.body)
	}
	if a := b.listTools(t, sid); a.status != http.StatusNotFound {
		t.Errorf("tools/list on the deleted session: %d %.200s; want 404", a.status, a.body)
	}
	if a := b.send(t, hreq{method: "POST", path: "/sse?sessionid=does-not-exist", body: listBody, token: b.token}); a.status != http.StatusNotFound {
		t.Errorf("POST /sse?sessionid=does-not-exist: %d %.200s; want 404", a.status, a.body)
	}
}

// stalledBody sends a tools/call whose body trickles in a byte every 200
// ms and never completes, and reports (as a message, "" if fine) whether
// the bridge answered or closed within its 30 s body read timeout.
func (b *bridgeProc) stalledBody(sid string) string {
	addr := strings.TrimPrefix(b.base, "http://")
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	start := time.Now()
	head := b.rawHead("/mcp", 10000, sessionHeaders(sid))
	if _, err := io.WriteString(conn, head+`{"jsonrpc":"2.0","id":9,`); err != nil {
		return err.Error()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	})
	defer wg.Wait()
	defer close(done)
	conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	elapsed := time.Since(start)
	// 30 s is the body read timeout; the margin absorbs a loaded machine.
	if elapsed > 50*time.Second {
		return fmt.Sprintf("a stalled body was answered after %v; want about 30 s", elapsed)
	}
	if err != nil {
		return "" // closed without an answer: acceptable, the connection is not held
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		return fmt.Sprintf("a stalled body: %s; want 408", resp.Status)
	}
	return ""
}

// TestServeAddonGeneratedToken runs the add-on as the Supervisor would,
// without api_token: the bridge generates a token in its data folder
// (0600), logs where it is but not what it is, requires it on the API port,
// and uses the same one at the next start.
func TestServeAddonGeneratedToken(t *testing.T) {
	supervisorToken := randomToken("supervisor-")
	ha := simhome.NewServer(t, simhome.Options{Token: supervisorToken})
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"pool_min_sessions": 1, "pool_max_sessions": 1, "rate_limit_per_second": 0}`)
	data := t.TempDir()
	env := map[string]string{envToken: "", envSupervisorToken: supervisorToken, envSupervisorURL: ha.URL(),
		envOptions: options, envData: data, envIngressPort: strconv.Itoa(freePort(t))}
	tokenFile := filepath.Join(data, apiTokenFile)

	first := addonTokenRun(t, env, tokenFile, true, supervisorToken)
	if second := addonTokenRun(t, env, tokenFile, false, supervisorToken); second != first {
		t.Error("the second start changed the generated token")
	}
}

// addonTokenRun starts the add-on without api_token and checks the token
// in tokenFile: 0600, required on the API port (401 without it, 200 with
// it), never in the children's environment nor in the log, which says
// where it is and whether it is new. It returns the token.
func addonTokenRun(t *testing.T, env map[string]string, tokenFile string, isNew bool, secrets ...string) string {
	t.Helper()
	b := startBridge(t, env)
	waitStatus(t, b.process, b.base+"/health", 200)
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatalf("no generated token: %v", err)
	}
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o, want 600", fi.Mode().Perm())
	}
	token := strings.TrimSpace(string(raw))
	for _, path := range []string{"/mcp/status", "/metrics"} {
		if a := b.send(t, hreq{method: "GET", path: path, from: nextSourceIP()}); a.status != 401 ||
			!strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s without a token: %d %s; want 401", path, a.status, a.body)
		}
		if a := b.send(t, hreq{method: "GET", path: path, token: token}); a.status != 200 {
			t.Errorf("%s with the generated token: %d %.200s; want 200", path, a.status, a.body)
		}
	}
	if a := b.send(t, hreq{method: "POST", path: "/mcp", body: initBody, token: token}); a.status != 200 {
		t.Errorf("MCP initialize with the generated token: %d %.200s", a.status, a.body)
	}
	checkIngressClosed(t, &bridgeProc{process: b.process, base: "http://127.0.0.1:" + env[envIngressPort]})
	kids := children(t, b.cmd.Process.Pid)
	for _, pid := range kids {
		for _, kv := range childEnviron(t, pid) {
			if strings.Contains(kv, token) {
				t.Errorf("child %d environment holds the generated token in %s", pid, strings.SplitN(kv, "=", 2)[0])
			}
		}
	}
	b.stopAndCheckChildren(t, kids)
	log := b.stderr.String()
	if want := "using the generated token in " + tokenFile; !strings.Contains(log, want) ||
		!strings.Contains(log, "new="+strconv.FormatBool(isNew)) {
		t.Errorf("the log lacks %q with new=%v:\n%s", want, isNew, log)
	}
	for _, secret := range append(secrets, token) {
		if strings.Contains(log, secret) {
			t.Error("the log holds a secret")
		}
	}
	return token
}

// TestServeShutdownWithOpenStreams stops the bridge while MCP clients hold
// event streams open (HTTP+SSE, and the Streamable HTTP GET stream every
// SDK client opens): the streams must end at once, not hold the shutdown
// until its deadline and make it fail.
func TestServeShutdownWithOpenStreams(t *testing.T) {
	b := securityBridge(t)
	_, closeSSE := b.openSSE(t)
	defer closeSSE()
	hc := &http.Client{Transport: bearerTransport{b.token}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-sdk", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: b.base + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	kids := children(t, b.cmd.Process.Pid)
	start := time.Now()
	b.stopAndCheckChildren(t, kids)
	// The shutdown deadline is 10 s; a clean stop takes well under it.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the bridge took %v to stop with event streams open", d)
	}
}

// TestServeSecurityNoTokenLoopback: without a token the bridge listens on
// loopback only, where the user's browser still reaches it. A web page
// must not use it: not by a cross-site POST (a text/plain body needs no
// CORS preflight), not by DNS rebinding (its own host name resolving to
// 127.0.0.1), on the API port or the standalone Ingress port, on the REST
// routes as on /mcp. Local programs (no Origin, a loopback Host) are
// served.
func TestServeSecurityNoTokenLoopback(t *testing.T) {
	ingressPort := freePort(t)
	b := startBridge(t, map[string]string{envToken: "", envIngressPort: strconv.Itoa(ingressPort)}, "--demo")
	b.token = ""
	b.waitSessions(t)
	ingress := &bridgeProc{process: b.process, base: fmt.Sprintf("http://127.0.0.1:%d", ingressPort)}
	turnOn := `{"name":"call_service","arguments":{"domain":"light","service":"turn_on","entity_id":"light.garage"}}`
	mcpTurnOn := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":` + turnOn + `}`
	for _, port := range []*bridgeProc{b, ingress} {
		hostPort := strings.TrimPrefix(port.base, "http://")
		for _, attack := range []struct {
			name, host string
			header     map[string]string
		}{
			{name: "cross-site text/plain", header: map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}},
			{name: "cross-site null origin", header: map[string]string{"Origin": "null", "Content-Type": "text/plain"}},
			{name: "DNS rebinding", host: "evil.example:" + strings.Split(hostPort, ":")[1]},
		} {
			for _, r := range []hreq{
				{method: "POST", path: "/mcp/tools/call", body: turnOn},
				{method: "POST", path: "/mcp", body: mcpTurnOn},
				{method: "GET", path: "/mcp/status"},
			} {
				r.host, r.header = attack.host, attack.header
				if a := port.send(t, r); a.status != http.StatusForbidden {
					t.Errorf("%s %s%s, %s: %d %.200s; want 403", r.method, port.base, r.path, attack.name, a.status, a.body)
				}
			}
		}
	}
	if text := b.callTool(t, "get_entities", map[string]any{"domain": "light", "state": "on"}); strings.Contains(text, "light.garage") {
		t.Errorf("a web page turned light.garage on:\n%s", text)
	}
	if a := b.send(t, hreq{method: "POST", path: "/mcp/tools/list", body: `{}`, host: "localhost:" + strings.Split(b.base, ":")[2]}); a.status != 200 {
		t.Errorf("a local client (Host localhost): %d %.200s; want 200", a.status, a.body)
	}
	if a := b.send(t, hreq{method: "GET", path: "/health", host: "evil.example"}); a.status != 200 {
		t.Errorf("/health with any Host: %d; want 200 (health checks are not for pages to abuse)", a.status)
	}
}

// checkIngressClosed: the add-on's Ingress port, which serves the status
// page (with the generated token), the REST API and MCP without a token,
// answers only the Supervisor; anyone else gets 403, whatever headers they
// forge.
func checkIngressClosed(t *testing.T, ingress *bridgeProc) {
	t.Helper()
	forged := map[string]string{"X-Forwarded-For": "172.30.32.2", "X-Real-IP": "172.30.32.2",
		"X-Remote-User-Id": "0123456789abcdef", "X-Ingress-Path": "/api/hassio_ingress/x"}
	for _, r := range []hreq{
		{method: "GET", path: "/"},
		{method: "POST", path: "/mcp", body: initBody},
		{method: "GET", path: "/sse"},
		{method: "POST", path: "/mcp/tools/call", body: `{"name":"get_entities","arguments":{}}`},
		{method: "GET", path: "/mcp/status"},
	} {
		for _, header := range []map[string]string{nil, forged} {
			r.header = header
			if a := ingress.send(t, r); a.status != http.StatusForbidden {
				t.Errorf("Ingress %s %s from loopback (headers %v): %d %.200s; want 403", r.method, r.path, header, a.status, a.body)
			}
		}
	}
}
