package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// nopBackend answers every call with an empty result; these tests are
// about what happens before a call.
type nopBackend struct{}

func (nopBackend) Call(context.Context, bridge.Request) (bridge.Result, error) {
	return bridge.Result{Raw: json.RawMessage(`{"content":[]}`)}, nil
}
func (nopBackend) ListTools(context.Context, time.Duration) (bridge.ToolList, error) {
	return bridge.ToolList{}, nil
}
func (nopBackend) Stats() bridge.Stats { return bridge.Stats{} }

// newLimitsServer serves the /mcp routes over a real connection (read
// deadlines need one), with the token restToken.
func newLimitsServer(t *testing.T, cfg Config) string {
	t.Helper()
	m, err := NewMCP(MCPConfig{Bridge: nopBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIToken, cfg.Routes = restToken, m.Routes
	hs := httptest.NewServer(newTestServer(t, cfg).Handler())
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// rawExchange writes raw on a new connection (then closes the writing side
// if closeWrite) and reads one answer. The connection's deadline only turns
// a hang into a failure; nothing here depends on how fast the server is.
func rawExchange(t *testing.T, addr, raw string, closeWrite bool) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// wantJSONError checks an answer's status and JSON-RPC error code.
func wantJSONError(t *testing.T, resp *http.Response, body string, status, code int) {
	t.Helper()
	var e struct {
		Error struct{ Code int } `json:"error"`
	}
	if resp.StatusCode != status || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != code {
		t.Errorf("answer %d %s; want %d with a JSON error %d", resp.StatusCode, body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
}

const callHead = "POST /mcp/tools/call HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"

// Issue #9: headers announcing a body that never comes held the connection
// (and, unauthenticated, the 401) forever.
func TestUnauthenticatedAnsweredBeforeBody(t *testing.T) {
	addr := newLimitsServer(t, Config{BodyReadTimeout: time.Hour})
	resp, body := rawExchange(t, addr, callHead+"Authorization: Bearer wrong\r\nContent-Length: 10000\r\n\r\n", false)
	wantJSONError(t, resp, body, http.StatusUnauthorized, CodeUnauthorized)
	if !resp.Close {
		t.Error("the connection stays open with an unread body")
	}
}

func TestBodyReadTimesOut(t *testing.T) {
	addr := newLimitsServer(t, Config{BodyReadTimeout: 20 * time.Millisecond})
	resp, body := rawExchange(t, addr, callHead+"Authorization: Bearer "+restToken+"\r\nContent-Length: 10000\r\n\r\n{", false)
	wantJSONError(t, resp, body, http.StatusRequestTimeout, CodeBodyTimeout)
}

// Issue #9: body read errors answered 500 -32603.
func TestBodyReadErrorsAreClientErrors(t *testing.T) {
	addr := newLimitsServer(t, Config{BodyReadTimeout: time.Hour})
	auth := "Authorization: Bearer " + restToken + "\r\n"
	for name, raw := range map[string]string{
		"shorter than Content-Length": callHead + auth + "Content-Length: 100\r\n\r\n{\"name\":",
		"malformed chunks":            callHead + auth + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := rawExchange(t, addr, raw, true)
			wantJSONError(t, resp, body, http.StatusBadRequest, CodeParseError)
		})
	}
}

func TestTooLargeAnsweredInJSON(t *testing.T) {
	addr := newLimitsServer(t, Config{BodyReadTimeout: time.Hour})
	auth := "Authorization: Bearer " + restToken + "\r\n"
	resp, body := rawExchange(t, addr, callHead+auth+"Content-Length: 2000000\r\n\r\n{", false)
	wantJSONError(t, resp, body, http.StatusRequestEntityTooLarge, CodeTooLarge)

	resp, body = rawExchange(t, addr, callHead+auth+"X-Big: "+strings.Repeat("a", 40<<10)+"\r\nContent-Length: 2\r\n\r\n{}", false)
	wantJSONError(t, resp, body, http.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge)
}

// Issue #9: HEAD /health answered 405.
func TestHeadHealth(t *testing.T) {
	s := newTestServer(t, Config{IngressAddr: "127.0.0.1:0", IngressAllowLoopback: true})
	for name, h := range map[string]http.Handler{"api": s.Handler(), "ingress": s.IngressHandler()} {
		got := do(h, http.MethodHead, "/health", "127.0.0.1:1234", nil)
		if got.status != http.StatusOK || got.header.Get("Content-Type") == "" {
			t.Errorf("%s: HEAD /health = %d %v, want 200 like GET", name, got.status, got.header)
		}
	}
}

// gatedBackend holds every call until release is closed.
type gatedBackend struct {
	nopBackend
	started chan struct{}
	release chan struct{}
}

func (g gatedBackend) Call(ctx context.Context, r bridge.Request) (bridge.Result, error) {
	g.started <- struct{}{}
	<-g.release
	return g.nopBackend.Call(ctx, r)
}

// Issue #9: memory was bounded by numbers of entries, not bytes: the
// bodies held at once are bounded too.
func TestBodiesInFlightBounded(t *testing.T) {
	g := gatedBackend{started: make(chan struct{}, 1), release: make(chan struct{})}
	m, err := NewMCP(MCPConfig{Bridge: g, MaxBodyBytes: 20, MaxBodyBytesInFlight: 20})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(newTestServer(t, Config{APIToken: restToken, Routes: m.Routes}).Handler())
	defer hs.Close()
	post := func() (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/mcp/tools/call", strings.NewReader(`{"name":"echo"}`))
		req.Header.Set("Authorization", "Bearer "+restToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	first := make(chan int, 1)
	go func() { resp, _ := post(); first <- resp.StatusCode }()
	<-g.started
	resp, body := post()
	wantJSONError(t, resp, body, http.StatusServiceUnavailable, CodeBusy)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	close(g.release)
	if got := <-first; got != http.StatusOK {
		t.Errorf("the first call: status %d, want 200", got)
	}
	go func() { <-g.started }()
	if resp, body := post(); resp.StatusCode != http.StatusOK {
		t.Errorf("after the first ended: %d %s, want 200", resp.StatusCode, body)
	}
}
