package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

const restToken = "test-token"

// restEnv is the whole stack: HTTP server (with authentication), MCP
// routes, bridge, pool and real pooltest children.
type restEnv struct {
	t      testing.TB
	url    string
	bridge *bridge.Bridge
	pool   *pool.Pool
	events string
}

// alwaysUp is the health checker of these tests: they do not look at
// Home Assistant.
type alwaysUp struct{}

func (alwaysUp) Ping(context.Context) (time.Duration, error) { return 0, nil }

func newRESTEnv(t testing.TB, children int, bc bridge.Config, mc MCPConfig) *restEnv {
	t.Helper()
	e := &restEnv{t: t, events: filepath.Join(t.TempDir(), "events.jsonl")}
	p, err := pool.New(pool.Config{
		Command: pooltest.Command(), Env: pooltest.Env(pooltest.ChildOptions{File: e.events}),
		MinSessions: children, MaxSessions: children, TargetSessions: children,
		RestartBackoffMin: 20 * time.Millisecond, RestartBackoffMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	bc.Executor, bc.Capacity, bc.Registerer = p, p.Capacity, reg
	b, err := bridge.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	e.bridge, e.pool = b, p
	mc.Bridge, mc.Gatherer, mc.Registerer, mc.Version = b, reg, reg, "9.9.9"
	m, err := NewMCP(mc)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Addr: "127.0.0.1:0", APIToken: restToken, Health: alwaysUp{}, Routes: m.Routes, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	e.url = hs.URL

	pctx, stopPool := context.WithCancel(context.Background())
	bctx, stopBridge := context.WithCancel(context.Background())
	poolDone, bridgeDone := make(chan error, 1), make(chan error, 1)
	go func() { poolDone <- p.Run(pctx) }()
	go func() { bridgeDone <- b.Run(bctx) }()
	t.Cleanup(func() {
		hs.Close()
		stopBridge()
		<-bridgeDone
		stopPool()
		<-poolDone
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.Capacity() < children || b.Stats().Queue.Concurrency < children {
		if time.Now().After(deadline) {
			t.Fatal("children did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e
}

// reply is a decoded answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// post sends body to path with the token and the given headers.
func (e *restEnv) post(path, body string, headers ...string) reply {
	e.t.Helper()
	return e.postCtx(context.Background(), path, body, headers...)
}

func (e *restEnv) postCtx(ctx context.Context, path, body string, headers ...string) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req, headers...)
}

func (e *restEnv) get(path string) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *restEnv) do(req *http.Request, headers ...string) reply {
	req.Header.Set("Authorization", "Bearer "+restToken)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if req.Context().Err() == nil {
			e.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		return reply{}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Errorf("reading the answer: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// errorCode returns error.code of a JSON-RPC error answer, or 0.
func (r reply) errorCode() int {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(float64)
	return int(code)
}

// result returns the JSON-RPC result object.
func (r reply) result() map[string]any {
	res, _ := r.body["result"].(map[string]any)
	return res
}

func TestRESTConcurrentCallsAnsweredCorrectly(t *testing.T) {
	e := newRESTEnv(t, 4, bridge.Config{}, MCPConfig{})
	const n = 200
	type outcome struct {
		i   int
		rep reply
	}
	out := make(chan outcome, n)
	for i := range n {
		go func() {
			body := fmt.Sprintf(`{"name":"echo","arguments":{"i":%d,"nonce":"n-%d"},"request_id":"r%d"}`, i, i*7, i)
			out <- outcome{i, e.post("/mcp/tools/call", body)}
		}()
	}
	for range n {
		o := <-out
		if o.rep.status != http.StatusOK {
			t.Errorf("call %d: status %d: %s", o.i, o.rep.status, o.rep.raw)
			continue
		}
		res := o.rep.result()
		sc, _ := res["structuredContent"].(map[string]any)
		if sc["i"] != float64(o.i) || sc["nonce"] != fmt.Sprintf("n-%d", o.i*7) {
			t.Errorf("call %d answered %v", o.i, sc)
		}
		if o.rep.body["id"] != fmt.Sprintf("r%d", o.i) {
			t.Errorf("call %d: id = %v", o.i, o.rep.body["id"])
		}
		meta, _ := res["_meta"].(map[string]any)
		if meta[bridge.MetaPrefix+"attempts"] != float64(1) || meta[bridge.MetaPrefix+"kind"] != "read" {
			t.Errorf("call %d: _meta = %v", o.i, meta)
		}
	}
}

func TestRESTSessionsToolsStatusMetrics(t *testing.T) {
	e := newRESTEnv(t, 1, bridge.Config{}, MCPConfig{})
	r := e.post("/mcp/initialize", `{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`)
	res := r.result()
	sid, _ := res["session_id"].(string)
	if r.status != 200 || res["protocolVersion"] != "2024-11-05" || len(sid) != 32 || r.header.Get("X-Session-ID") != sid {
		t.Fatalf("initialize: %d %s", r.status, r.raw)
	}
	r = e.post("/mcp/initialize", `{"protocolVersion":"1999-01-01","session_id":"my-session"}`)
	if res := r.result(); res["protocolVersion"] != restProtocolVersions[0] || res["session_id"] != "my-session" {
		t.Errorf("initialize with an old version and a chosen id: %s", r.raw)
	}

	r = e.post("/mcp/tools/list", ``, "X-Session-ID", sid)
	tools, _ := r.body["tools"].([]any)
	if r.status != 200 || len(tools) != len(pooltest.Tools) {
		t.Fatalf("tools/list: %d %s", r.status, r.raw)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(r.body["cache_expires"])); err != nil {
		t.Errorf("cache_expires: %v", err)
	}
	if again := e.post("/mcp/tools/list", ``); again.body["cached"] != true {
		t.Errorf("second tools/list not cached: %s", again.raw)
	}
	if fresh := e.post("/mcp/tools/list", ``, "X-Cache-Control", "no-cache"); fresh.body["cached"] != false {
		t.Errorf("tools/list with no-cache was cached: %s", fresh.raw)
	}
	if r := e.post("/mcp/tools/list", ``, "X-Session-ID", "never-made"); r.status != 404 || r.errorCode() != CodeUnknownSession {
		t.Errorf("unknown session: %d %s", r.status, r.raw)
	}

	if r := e.post("/mcp/tools/call", `{"name":"echo","arguments":{"a":1}}`, "X-Session-ID", sid, "X-Priority", "critical"); r.status != 200 ||
		r.body["id"] != float64(1) || r.result()["_meta"].(map[string]any)[bridge.MetaPrefix+"priority"] != "CRITICAL" {
		t.Errorf("call with X-Priority: %d %s", r.status, r.raw)
	}

	st := e.get("/mcp/status")
	for _, key := range []string{"bridge", "sessions", "queue", "performance"} {
		if _, ok := st.body[key].(map[string]any); !ok {
			t.Errorf("status has no %q object: %s", key, st.raw)
		}
	}
	if b := st.body["bridge"].(map[string]any); b["version"] != "9.9.9" || b["status"] != "healthy" {
		t.Errorf("status bridge = %v", b)
	}
	if p := st.body["performance"].(map[string]any); p["requests_per_second"] == float64(0) {
		t.Errorf("status performance = %v, want calls counted", p)
	}
	m := e.get("/metrics")
	if m.status != 200 || !bytes.Contains(m.raw, []byte(`mcp_bridge_requests_total{outcome="ok",tool_kind="read"} 1`)) {
		t.Errorf("metrics: %d\n%s", m.status, m.raw)
	}
}

func TestRESTErrors(t *testing.T) {
	e := newRESTEnv(t, 2, bridge.Config{}, MCPConfig{MaxBodyBytes: 1024})
	tests := []struct {
		name    string
		body    string
		headers []string
		status  int
		code    int
	}{
		{"unknown tool", `{"name":"nope"}`, nil, 404, CodeInvalidParams},
		{"malformed JSON", `{"name":`, nil, 400, CodeParseError},
		{"unknown field", `{"name":"echo","args":{}}`, nil, 400, CodeInvalidParams},
		{"arguments not an object", `{"name":"echo","arguments":"x"}`, nil, 400, CodeInvalidParams},
		{"too large", `{"name":"echo","arguments":{"x":"` + strings.Repeat("a", 2000) + `"}}`, nil, 413, CodeTooLarge},
		{"bad priority", `{"name":"echo"}`, []string{"X-Priority", "urgent"}, 400, CodeInvalidParams},
		{"bad timeout", `{"name":"echo"}`, []string{"X-Timeout", "-3"}, 400, CodeInvalidParams},
		{"no token", `{"name":"echo"}`, []string{"Authorization", ""}, 401, CodeUnauthorized},
		{"timeout", `{"name":"slow_read","arguments":{"ms":60000}}`, []string{"X-Timeout", "0.2"}, 504, CodeTimeout},
		{"tool error is a result", `{"name":"fail"}`, nil, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post("/mcp/tools/call", tt.body, tt.headers...)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Errorf("status %d code %d, want %d %d: %s", r.status, r.errorCode(), tt.status, tt.code, r.raw)
			}
			if msg, _ := r.body["error"].(map[string]any); tt.code != 0 && msg["message"] == "" {
				t.Errorf("no error message: %s", r.raw)
			}
		})
	}
}

func TestRESTWriteOutcomeUnknown(t *testing.T) {
	e := newRESTEnv(t, 2, bridge.Config{}, MCPConfig{})
	done := make(chan reply, 1)
	go func() {
		done <- e.post("/mcp/tools/call", `{"name":"write","arguments":{"entity_id":"lock.door","note":"w","ms":600000},"request_id":"w1"}`)
	}()
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		ev, _ := pooltest.ReadEvents(e.events)
		for _, x := range ev {
			if x.Kind == "start" && x.Note == "w" {
				pid = x.Pid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("the write never started")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.status != http.StatusBadGateway || r.errorCode() != CodeOutcomeUnknown || r.body["id"] != "w1" {
		t.Errorf("write whose child died: %d %s", r.status, r.raw)
	}
	if !strings.Contains(string(r.raw), "may or may not have been applied") {
		t.Errorf("message does not say the outcome is unknown: %s", r.raw)
	}
}

func TestRESTOverloadAnswers503(t *testing.T) {
	e := newRESTEnv(t, 1, bridge.Config{Breaker: bridge.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}}, MCPConfig{})
	// crash is a write: its child dies mid-call, which opens the breaker.
	if r := e.post("/mcp/tools/call", `{"name":"crash"}`); r.status != http.StatusBadGateway {
		t.Fatalf("crash: %d %s", r.status, r.raw)
	}
	r := e.post("/mcp/tools/call", `{"name":"echo"}`)
	if r.status != http.StatusServiceUnavailable || r.errorCode() != CodeCircuitOpen || r.header.Get("Retry-After") == "" {
		t.Errorf("call with the breaker open: %d %v %s", r.status, r.header, r.raw)
	}
	if st := e.get("/mcp/status"); st.body["bridge"].(map[string]any)["status"] != "unhealthy" {
		t.Errorf("status with the breaker open: %s", st.raw)
	}
}

func TestRESTQueueFull(t *testing.T) {
	e := newRESTEnv(t, 1, bridge.Config{Queue: queue.Config{MaxSize: 1}}, MCPConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	blocker, queued := make(chan reply, 1), make(chan reply, 1)
	go func() {
		blocker <- e.postCtx(ctx, "/mcp/tools/call", `{"name":"slow_read","arguments":{"ms":600000}}`, "X-Timeout", "120")
	}()
	waitUntil(t, func() bool { return e.bridge.Stats().Queue.Running == 1 })
	go func() { queued <- e.post("/mcp/tools/call", `{"name":"echo","arguments":{"n":1}}`) }()
	waitUntil(t, func() bool { return e.bridge.Stats().Queue.Pending == 1 })
	r := e.post("/mcp/tools/call", `{"name":"echo","arguments":{"n":2}}`)
	if r.status != http.StatusServiceUnavailable || r.errorCode() != CodeQueueFull || r.header.Get("Retry-After") != "1" {
		t.Errorf("call with the queue full: %d %v %s", r.status, r.header, r.raw)
	}
	cancel() // the client gives up: the blocker is cancelled in the child
	<-blocker
	if r := <-queued; r.status != http.StatusOK {
		t.Errorf("queued call: %d %s", r.status, r.raw)
	}
}

func TestRESTRateLimit(t *testing.T) {
	e := newRESTEnv(t, 1, bridge.Config{}, MCPConfig{RateLimit: RateLimitConfig{Enabled: true, RequestsPerSecond: 0.001, BurstCapacity: 2}})
	for i := range 2 {
		if r := e.get("/mcp/status"); r.status != 200 || r.header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
	r := e.post("/mcp/tools/call", `{"name":"echo"}`)
	if r.status != http.StatusTooManyRequests || r.errorCode() != CodeRateLimited || r.header.Get("Retry-After") == "" {
		t.Errorf("third request: %d %v %s", r.status, r.header, r.raw)
	}
	if m := e.get("/metrics"); !bytes.Contains(m.raw, []byte("mcp_bridge_http_rate_limited_total 1")) {
		t.Errorf("metrics do not count the refusal:\n%s", m.raw)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHTTPMetrics checks mcp_bridge_http_requests_total and
// mcp_bridge_http_request_duration_seconds against known traffic, with
// the route pattern as the endpoint, never the raw path.
func TestHTTPMetrics(t *testing.T) {
	e := newRESTEnv(t, 1, bridge.Config{}, MCPConfig{})
	for range 2 {
		if r := e.post("/mcp/tools/call", `{"name":"echo","arguments":{"a":1}}`); r.status != 200 {
			t.Fatalf("tools/call: %d %s", r.status, r.raw)
		}
	}
	if r := e.get("/no/such/path/light.kitchen"); r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
	m := e.get("/metrics")
	for _, want := range []string{
		`mcp_bridge_http_requests_total{code="200",endpoint="/mcp/tools/call",listener="api",method="POST"} 2`,
		`mcp_bridge_http_requests_total{code="404",endpoint="unmatched",listener="api",method="GET"} 1`,
		`mcp_bridge_http_request_duration_seconds_count{endpoint="/mcp/tools/call",listener="api",method="POST"} 2`,
	} {
		if !bytes.Contains(m.raw, []byte(want+"\n")) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if bytes.Contains(m.raw, []byte("light.kitchen")) {
		t.Error("/metrics holds a raw path")
	}
}
