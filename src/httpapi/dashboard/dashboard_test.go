package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

type fakePinger struct{}

func (fakePinger) Ping(context.Context) (time.Duration, error) { return time.Millisecond, nil }

// setup is a dashboard on a real Ingress server; the route POST /call
// hands the bridge.Finished in its body to Observe with the request's
// context, as bridge.Call does for the REST API.
type setup struct {
	d       *Dashboard
	ingress http.Handler
	stats   bridge.Stats
	audit   *audit.Log
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	s := &setup{stats: bridge.Stats{Breaker: "closed", Queue: queue.Stats{Pending: 3, ByPriority: map[string]int{"HIGH": 3}}}}
	al, err := audit.Open(audit.Config{Path: filepath.Join(t.TempDir(), "audit.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	s.audit = al
	var srv *httpapi.Server
	s.d, err = New(Config{
		Stats:  func() bridge.Stats { return s.stats },
		Health: func(ctx context.Context) httpapi.Health { return srv.CheckHealth(ctx) },
		Audit:  al, AuditFile: "/data/audit.jsonl", Version: "1.2.3", Mode: "addon",
		APIToken: "generated-token-0123456789abcdef", APIPort: 3003,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = httpapi.New(httpapi.Config{
		Addr: "127.0.0.1:0", IngressAddr: "127.0.0.1:0", Health: fakePinger{}, NoStatusPage: true,
		IngressRoutes: s.d.RoutesAfter(func(g *gin.RouterGroup) {
			g.POST("/call", func(c *gin.Context) {
				var f testCall
				if err := c.BindJSON(&f); err != nil {
					return
				}
				s.d.Observe(c.Request.Context(), f.finished())
				c.Status(http.StatusNoContent)
			})
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.ingress = srv.IngressHandler()
	return s
}

// testCall is a finished call as a test describes it.
type testCall struct {
	Tool, Client, Outcome, Args, Err string
	Kind                             bridge.Kind
	Cached, IsError                  bool
}

func (tc testCall) finished() bridge.Finished {
	f := bridge.Finished{
		Request: bridge.Request{Tool: tc.Tool, Client: tc.Client, Arguments: json.RawMessage(tc.Args)},
		Kind:    tc.Kind, Outcome: tc.Outcome, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Result: bridge.Result{Meta: bridge.Meta{Cached: tc.Cached, IsError: tc.IsError, Duration: 20 * time.Millisecond}},
	}
	switch tc.Err {
	case "unknown":
		f.Err = fmt.Errorf("%w: child died", bridge.ErrOutcomeUnknown)
	case "open":
		f.Err = &bridge.CircuitOpenError{RetryAfter: time.Second}
	}
	if tc.IsError {
		f.Result.Raw = json.RawMessage(`{"content":[{"type":"text","text":"needs confirmation"}],"isError":true}`)
	}
	return f
}

func (s *setup) do(t *testing.T, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "172.30.32.2:40000" // the Supervisor
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ingress.ServeHTTP(rec, req)
	return rec
}

func (s *setup) call(t *testing.T, tc testCall, header map[string]string) {
	t.Helper()
	body, _ := json.Marshal(tc)
	if rec := s.do(t, "POST", "/call", string(body), header); rec.Code != http.StatusNoContent {
		t.Fatalf("POST /call: %d %s", rec.Code, rec.Body)
	}
}

func (s *setup) data(t *testing.T) Data {
	t.Helper()
	rec := s.do(t, "GET", "/api/dashboard", "", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /api/dashboard: %d %q %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	var d Data
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("decoding the dashboard data: %v", err)
	}
	return d
}

// TestKnownTraffic: the counters, the last calls and the audit log show
// exactly the calls made, with who made the writes.
func TestKnownTraffic(t *testing.T) {
	s := newSetup(t)
	const reads, hits = 7, 4
	for i := range reads {
		s.call(t, testCall{Tool: "get_entity_state", Client: "api-token", Kind: bridge.KindRead, Outcome: "ok",
			Args: `{"entity_id":"light.a"}`, Cached: i < hits}, nil)
	}
	write := func(service string) string {
		return `{"domain":"light","service":"` + service + `","entity_id":["light.Kitchen","light.hall"],"data":{"code":"1234"}}`
	}
	s.call(t, testCall{Tool: "call_service", Client: "api-token", Kind: bridge.KindWrite, Outcome: "ok", Args: write("turn_on")}, nil)
	s.call(t, testCall{Tool: "call_service", Client: "home-assistant", Kind: bridge.KindWrite, Outcome: "unknown_outcome",
		Args: write("turn_off"), Err: "unknown"}, nil)
	s.call(t, testCall{Tool: "call_service", Client: "ha:0123abcd", Kind: bridge.KindWrite, Outcome: "tool_error",
		Args: `{"domain":"lock","service":"unlock","entity_id":"lock.front","api_key":"k"}`, IsError: true},
		map[string]string{"X-Remote-User-Id": "0123abcd", "X-Remote-User-Name": "alice", "X-Remote-User-Display-Name": "Alice"})
	s.call(t, testCall{Tool: "call_service", Client: "api-token", Kind: bridge.KindWrite, Outcome: "rejected",
		Args: write("toggle"), Err: "open"}, nil)

	d := s.data(t)
	if d.Totals.Calls != reads+4 || d.Totals.CacheHits != hits || d.Totals.Writes != 4 || d.Totals.Errors != 2 {
		t.Errorf("totals %+v; want %d calls, %d cache hits, 4 writes, 2 errors", d.Totals, reads+4, hits)
	}
	if len(d.Recent) != reads+4 || d.Recent[0].Outcome != "rejected" || d.Recent[len(d.Recent)-1].Cached != true {
		t.Errorf("recent calls: %d, newest %+v; want %d, newest first", len(d.Recent), d.Recent[0], reads+4)
	}
	for _, c := range d.Recent {
		for _, secret := range []string{"1234", `"k"`} {
			if strings.Contains(string(c.Arguments), secret) {
				t.Errorf("recent call shows a secret: %s", c.Arguments)
			}
		}
	}
	if got := string(d.Recent[1].Arguments); !strings.Contains(got, `"api_key":"[redacted]"`) || !strings.Contains(got, `"lock.front"`) {
		t.Errorf("redacted arguments %s; want api_key redacted, the rest kept", got)
	}
	want := []struct{ who, user, service, outcome string }{
		{"api-token", "", "light.toggle", audit.OutcomeFailed},
		{"ha:0123abcd", "Alice", "lock.unlock", audit.OutcomeError},
		{"home-assistant", "", "light.turn_off", audit.OutcomeUnknown},
		{"api-token", "", "light.turn_on", audit.OutcomeOK},
	}
	if d.Audit == nil || len(d.Audit.Entries) != len(want) {
		t.Fatalf("audit %+v; want %d entries", d.Audit, len(want))
	}
	for i, w := range want {
		e := d.Audit.Entries[i]
		if e.Who != w.who || e.User != w.user || e.Service != w.service || e.Outcome != w.outcome {
			t.Errorf("audit entry %d: who %q user %q service %q outcome %q; want %q %q %q %q",
				i, e.Who, e.User, e.Service, e.Outcome, w.who, w.user, w.service, w.outcome)
		}
	}
	if got := d.Audit.Entries[3].Targets; strings.Join(got, ",") != "light.hall,light.kitchen" {
		t.Errorf("targets %v; want light.hall, light.kitchen", got)
	}
	if got := d.Audit.Entries[1].Error; got != "needs confirmation" {
		t.Errorf("tool error %q; want the tool's text", got)
	}
	if d.Queue.Pending != 3 || d.Queue.ByPriority["HIGH"] != 3 || d.Breaker != "closed" || d.Health.Status != "healthy" {
		t.Errorf("status: queue %+v breaker %q health %q", d.Queue, d.Breaker, d.Health.Status)
	}
}

// TestRecentBounded: only the last Recent calls are kept, and large
// arguments are not.
func TestRecentBounded(t *testing.T) {
	s := newSetup(t)
	big := `{"text":"` + strings.Repeat("x", 5000) + `"}`
	for i := range DefaultRecent + 20 {
		s.call(t, testCall{Tool: fmt.Sprintf("tool_%d", i), Kind: bridge.KindRead, Outcome: "ok", Args: big}, nil)
	}
	d := s.data(t)
	if len(d.Recent) != DefaultRecent || d.Recent[0].Tool != fmt.Sprintf("tool_%d", DefaultRecent+19) {
		t.Fatalf("%d recent calls, newest %q; want %d, the newest first", len(d.Recent), d.Recent[0].Tool, DefaultRecent)
	}
	if got, want := string(d.Recent[0].Arguments), fmt.Sprintf(`"(%d bytes, not kept)"`, len(big)); got != want {
		t.Errorf("large arguments shown as %s", got)
	}
	if d.Recent[0].Who != "local" {
		t.Errorf("anonymous caller shown as %q, want local", d.Recent[0].Who)
	}
}

// TestSeries: each sample holds the calls of its interval; the ring keeps
// the last Samples.
func TestSeries(t *testing.T) {
	d, err := New(Config{Stats: func() bridge.Stats { return bridge.Stats{Queue: queue.Stats{Pending: 2}} },
		Health: func(context.Context) httpapi.Health { return httpapi.Health{} }, Samples: 3, Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		for range i * 5 {
			d.Observe(context.Background(), testCall{Tool: "x", Kind: bridge.KindRead, Outcome: "ok"}.finished())
		}
		d.Observe(context.Background(), testCall{Tool: "x", Kind: bridge.KindRead, Outcome: "cancelled"}.finished())
		d.sample(t0.Add(time.Duration(i) * 5 * time.Second))
	}
	got := d.Snapshot(context.Background()).Series
	if len(got.Samples) != 3 || got.IntervalSeconds != 5 {
		t.Fatalf("%d samples every %vs; want 3 every 5s", len(got.Samples), got.IntervalSeconds)
	}
	for i, s := range got.Samples {
		n := int64((i + 2) * 5)
		if s.Calls != n || s.RPS != float64(n)/5 || s.Pending != 2 || (n > 0 && s.AvgMS != 20) ||
			!s.Time.Equal(t0.Add(time.Duration(i+2)*5*time.Second)) {
			t.Errorf("sample %d: %+v; want %d calls, %v/s, 20 ms", i, s, n, float64(n)/5)
		}
	}
}

// TestPage: the page is served with relative links only, under the
// Supervisor's prefix when it names one.
func TestPage(t *testing.T) {
	s := newSetup(t)
	for _, tt := range []struct{ path, want string }{
		{"/api/hassio_ingress/abc123", `<base href="/api/hassio_ingress/abc123/">`},
		{"", "<title>MCP Bridge</title>"},
		{`/x"><script>`, "<title>MCP Bridge</title>"},
	} {
		rec := s.do(t, "GET", "/", "", map[string]string{"X-Ingress-Path": tt.path})
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("GET / with X-Ingress-Path %q: %d, want %q in\n%.400s", tt.path, rec.Code, tt.want, body)
		}
		if strings.Contains(body, "<script>") || tt.path != "/api/hassio_ingress/abc123" && strings.Contains(body, "<base") {
			t.Errorf("X-Ingress-Path %q reached the page", tt.path)
		}
	}
	for _, asset := range []string{"/", "/dashboard.js", "/dashboard.css"} {
		rec := s.do(t, "GET", asset, "", nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || len(body) < 500 {
			t.Errorf("GET %s: %d, %d bytes", asset, rec.Code, len(body))
		}
		for _, abs := range []string{"http://cdn", "https://", `src="/`, `href="/`, "fetch('/", `fetch("/`, "url(/"} {
			if strings.Contains(body, abs) {
				t.Errorf("%s references %q: everything must be built in and relative", asset, abs)
			}
		}
	}
	rec := s.do(t, "GET", "/api/connection", "", nil)
	var c struct {
		Port  int    `json:"port"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.Port != 3003 || c.Token != "generated-token-0123456789abcdef" {
		t.Errorf("GET /api/connection: %d %s", rec.Code, rec.Body)
	}
}

// TestOnlyFromSupervisor: the dashboard sits behind the Ingress port's
// address check.
func TestOnlyFromSupervisor(t *testing.T) {
	s := newSetup(t)
	for _, path := range []string{"/", "/api/dashboard", "/api/connection", "/dashboard.js"} {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "192.168.1.20:5000"
		rec := httptest.NewRecorder()
		s.ingress.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "generated-token") {
			t.Errorf("GET %s from the LAN: %d, want 403", path, rec.Code)
		}
	}
}

// TestStatusAndCache: an open breaker and the cache figures show as
// /mcp/status shows them.
func TestStatusAndCache(t *testing.T) {
	s := newSetup(t)
	s.stats.Breaker = "open"
	s.stats.Cache = &cache.Stats{Hits: 3, Misses: 1, HitRate: 0.75}
	s.stats.Sessions = bridge.SessionStats{Active: 0, Total: 2, ByStatus: map[string]int{"unhealthy": 2}}
	d := s.data(t)
	if d.Status != "unhealthy" || d.Breaker != "open" || d.Cache == nil || d.Cache.HitRate != 0.75 || d.Sessions.ByStatus["unhealthy"] != 2 {
		t.Errorf("status %q breaker %q cache %+v sessions %+v", d.Status, d.Breaker, d.Cache, d.Sessions)
	}
	s.stats.Breaker = "closed"
	if d := s.data(t); d.Status != "degraded" {
		t.Errorf("no active session: status %q, want degraded", d.Status)
	}
}

func TestRedact(t *testing.T) {
	in := map[string]any{"Token": "a", "nested": map[string]any{"PassWord": "b", "list": []any{map[string]any{"client_secret": "c", "ok": "d"}}},
		"Authorization": "e", "alarm_code": "f", "pin": "g", "entity_id": "light.a"}
	got, _ := json.Marshal(redact(in))
	for _, secret := range []string{`"a"`, `"b"`, `"c"`, `"e"`, `"f"`, `"g"`} {
		if strings.Contains(string(got), secret) {
			t.Errorf("redact left %s in %s", secret, got)
		}
	}
	if !strings.Contains(string(got), `"ok":"d"`) || !strings.Contains(string(got), `"entity_id":"light.a"`) {
		t.Errorf("redact hid too much: %s", got)
	}
}

func TestWriteOutcome(t *testing.T) {
	tests := []struct {
		f    bridge.Finished
		want string
	}{
		{bridge.Finished{}, audit.OutcomeOK},
		{bridge.Finished{Result: bridge.Result{Meta: bridge.Meta{IsError: true}}}, audit.OutcomeError},
		{bridge.Finished{Err: &bridge.TimeoutError{Write: true, Started: true}}, audit.OutcomeUnknown},
		{bridge.Finished{Err: &bridge.TimeoutError{Write: true}}, audit.OutcomeFailed},
		{bridge.Finished{Err: fmt.Errorf("bridge: %w", context.Canceled)}, audit.OutcomeUnknown},
		{bridge.Finished{Err: errors.New("queue: full")}, audit.OutcomeFailed},
	}
	for _, tt := range tests {
		if got := writeOutcome(tt.f); got != tt.want {
			t.Errorf("writeOutcome(err %v) = %q, want %q", tt.f.Err, got, tt.want)
		}
	}
}
