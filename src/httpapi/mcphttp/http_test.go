package mcphttp_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
)

// post sends one JSON-RPC message to /mcp and returns the JSON-RPC answer,
// from a JSON body or the event stream's last message.
func post(t *testing.T, s *stack, sid, version, body string, headers map[string]string) []byte {
	t.Helper()
	resp := do(t, s, http.MethodPost, sid, version, body, headers)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return data
	}
	var last []byte
	for _, line := range strings.Split(string(data), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.TrimSpace(d) != "" {
			last = []byte(d)
		}
	}
	return last
}

func do(t *testing.T, s *stack, method, sid, version, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if version != "" {
		req.Header.Set("MCP-Protocol-Version", version)
	}
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// initialize opens a session and returns its id.
func initialize(t *testing.T, s *stack, version string, headers map[string]string) string {
	t.Helper()
	resp := do(t, s, http.MethodPost, "", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+version+`","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, headers)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %s, session %q", resp.Status, sid)
	}
	resp = do(t, s, http.MethodPost, sid, version, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, headers)
	resp.Body.Close()
	return sid
}

// modernCall is a 2026-07-28 tools/call body.
func modernCall(id int, tool, extra string) string {
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}` + extra +
		`,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
}

// TestModernEra serves 2026-07-28 requests statelessly on the same URL:
// discovery, caching hints, resultType, and 405 for GET.
func TestModernEra(t *testing.T) {
	s := newStack(t, stackOptions{})
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	body := post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{`+meta+`}}`, map[string]string{"Mcp-Method": "server/discover"})
	if !bytes.Contains(body, []byte(`"2026-07-28"`)) || !bytes.Contains(body, []byte(`"capabilities"`)) {
		t.Errorf("server/discover answered %s", body)
	}
	body = post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{`+meta+`}}`, map[string]string{"Mcp-Method": "tools/list"})
	for _, want := range []string{`"ttlMs":`, `"cacheScope":"private"`, `"resultType":"complete"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("tools/list answer lacks %s: %.300s", want, body)
		}
	}
	body = post(t, s, "", "2026-07-28", modernCall(3, "test_simple_text", ""), map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "test_simple_text"})
	if !bytes.Contains(body, []byte(`"resultType":"complete"`)) || !bytes.Contains(body, []byte("simple text")) {
		t.Errorf("tools/call answered %s", body)
	}
	body = post(t, s, "", "2026-07-28", modernCall(4, "test_simple_text", ""), map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "another_tool"})
	if !bytes.Contains(body, []byte(`-32020`)) {
		t.Errorf("a mismatched Mcp-Name got %s; want -32020", body)
	}
	resp := do(t, s, http.MethodGet, "", "2026-07-28", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET in the 2026-07-28 era: %s; want 405", resp.Status)
	}
}

// TestGuard refuses bad requests before the SDK or a child sees them.
func TestGuard(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{
		AllowedOrigins: []string{"https://allowed.example"}, MaxBodyBytes: 4096, MaxDepth: 8,
	}})
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	for _, tc := range []struct {
		name   string
		body   string
		header map[string]string
		status int
		want   string
	}{
		{"foreign origin", init, map[string]string{"Origin": "http://evil.example"}, 403, "not allowed"},
		{"localhost origin", init, map[string]string{"Origin": "http://localhost:5173"}, 200, "protocolVersion"},
		{"allowed origin", init, map[string]string{"Origin": "https://allowed.example"}, 200, "protocolVersion"},
		{"too large", `{"x":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "too large"},
		{"too deep", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}`, nil, 400, "nested too deeply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, s, http.MethodPost, "", "", tc.body, tc.header)
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(data), tc.want) {
				t.Errorf("got %s %.200s; want %d with %q", resp.Status, data, tc.status, tc.want)
			}
			if tc.status >= 400 && !json.Valid(data) {
				t.Errorf("error body is not JSON: %s", data)
			}
			if tc.name == "allowed origin" && resp.Header.Get("Access-Control-Allow-Origin") != "https://allowed.example" {
				t.Error("no CORS header for an allowed origin")
			}
		})
	}
}

// TestSessionOwner refuses a session id presented by another principal.
func TestSessionOwner(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{Identity: func(r *http.Request) string { return r.Header.Get("X-Test-User") }}})
	sid := initialize(t, s, "2025-11-25", map[string]string{"X-Test-User": "alice"})
	resp := do(t, s, http.MethodPost, sid, "2025-11-25", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, map[string]string{"X-Test-User": "mallory"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another principal's session: %s; want 403", resp.Status)
	}
	resp = do(t, s, http.MethodPost, sid, "2025-11-25", `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, map[string]string{"X-Test-User": "alice"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the owner's own session: %s; want 200", resp.Status)
	}
	resp = do(t, s, http.MethodDelete, sid, "2025-11-25", "", map[string]string{"X-Test-User": "alice"})
	resp.Body.Close()
	resp = do(t, s, http.MethodPost, sid, "2025-11-25", `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`, map[string]string{"X-Test-User": "alice"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted session: %s; want 404", resp.Status)
	}
}

// TestKeepAlive writes comments on a quiet event stream, and none inside
// an event.
func TestKeepAlive(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{KeepAlive: 50 * time.Millisecond}})
	sid := initialize(t, s, "2025-11-25", nil)
	resp := do(t, s, http.MethodGet, sid, "2025-11-25", "", nil)
	defer resp.Body.Close()
	if resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Error("the event stream lacks X-Accel-Buffering: no")
	}
	r := bufio.NewReader(resp.Body)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if strings.HasPrefix(line, ": keep-alive") {
			return
		}
	}
	t.Fatal("no keep-alive comment on a quiet stream")
}

// TestIngressPrefix announces the SSE message URL under the prefix Home
// Assistant's Ingress serves the add-on at, and ignores a prefix it could
// not have set.
func TestIngressPrefix(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{IngressPath: true}})
	for _, tc := range []struct{ prefix, want string }{
		{"/api/hassio_ingress/Ab-9_x", "/api/hassio_ingress/Ab-9_x/sse?sessionid="},
		{"/api/../evil", "/sse?sessionid="},
		{"", "/sse?sessionid="},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/sse", nil)
		req.Header.Set("Accept", "text/event-stream")
		if tc.prefix != "" {
			req.Header.Set("X-Ingress-Path", tc.prefix)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(resp.Body)
		var endpoint string
		for endpoint == "" {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the SSE stream: %v", err)
			}
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				endpoint = d
			}
		}
		resp.Body.Close()
		if !strings.HasPrefix(endpoint, tc.want) {
			t.Errorf("prefix %q: endpoint %q; want it to start with %q", tc.prefix, endpoint, tc.want)
		}
	}
}

// TestErrorsAreJSON answers the requests the SDK refuses with JSON-RPC
// error bodies, not plain text.
func TestErrorsAreJSON(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, tc := range []struct {
		name, method, sid, ctype, accept string
		status, code                     int
	}{
		{"unknown session", http.MethodPost, "NOSUCHSESSION", "application/json", "application/json, text/event-stream", 404, -31011},
		{"wrong content type", http.MethodPost, "", "text/plain", "application/json, text/event-stream", 415, -32600},
		{"no event-stream in Accept", http.MethodPost, "", "application/json", "application/json", 400, -32600},
		{"PUT", http.MethodPut, "", "application/json", "application/json, text/event-stream", 405, -32601},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Content-Type", tc.ctype)
			req.Header.Set("Accept", tc.accept)
			if tc.sid != "" {
				req.Header.Set("Mcp-Session-Id", tc.sid)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			data, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(data, &body); err != nil || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s, %q: body %q is not a JSON-RPC error: %v", resp.Status, resp.Header.Get("Content-Type"), data, err)
			}
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Errorf("got %d %+v; want %d with code %d and a message", resp.StatusCode, body.Error, tc.status, tc.code)
			}
		})
	}
}

// TestMaxSessions refuses a session past the limit with 503, and takes one
// again once a session ends.
func TestMaxSessions(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{MaxSessions: 2}})
	a := initialize(t, s, "2025-11-25", nil)
	initialize(t, s, "2025-11-25", nil)
	resp := do(t, s, http.MethodPost, "", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !json.Valid(data) {
		t.Errorf("a third session: %s %s; want 503 with Retry-After and a JSON error", resp.Status, data)
	}
	// A stateless 2026-07-28 request opens no session: it is served.
	body := post(t, s, "", "2026-07-28", modernCall(2, "test_simple_text", ""), map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "test_simple_text"})
	if !bytes.Contains(body, []byte("simple text")) {
		t.Errorf("a stateless call at the session limit: %s", body)
	}
	resp = do(t, s, http.MethodDelete, a, "2025-11-25", "", nil)
	resp.Body.Close()
	initialize(t, s, "2025-11-25", nil) // fails the test unless there is room again
}
