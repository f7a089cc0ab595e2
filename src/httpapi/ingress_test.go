package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestIngressFilter(t *testing.T) {
	tests := []struct {
		name          string
		allowLoopback bool
		remote        string
		want          int
	}{
		{name: "supervisor", remote: "172.30.32.2:40000", want: 200},
		{name: "supervisor as IPv4-mapped IPv6", remote: "[::ffff:172.30.32.2]:40000", want: 200},
		{name: "other add-on", remote: "172.30.32.3:40000", want: 403},
		{name: "LAN", remote: "192.168.1.20:40000", want: 403},
		{name: "loopback refused in add-on mode", remote: "127.0.0.1:40000", want: 403},
		{name: "loopback allowed standalone", allowLoopback: true, remote: "127.0.0.1:40000", want: 200},
		{name: "IPv6 loopback allowed standalone", allowLoopback: true, remote: "[::1]:40000", want: 200},
		{name: "LAN refused standalone", allowLoopback: true, remote: "10.0.0.5:40000", want: 403},
		{name: "garbage peer", remote: "not-an-address", want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Config{IngressAddr: "127.0.0.1:0", IngressAllowLoopback: tt.allowLoopback})
			for _, path := range []string{"/", "/health"} {
				r := do(s.IngressHandler(), "GET", path, tt.remote, map[string]string{"X-Forwarded-For": "172.30.32.2"})
				if r.status != tt.want {
					t.Errorf("GET %s from %s: status = %d, want %d", path, tt.remote, r.status, tt.want)
				}
			}
		})
	}
}

func TestStatusPage(t *testing.T) {
	checker := &fakeChecker{}
	s := newTestServer(t, Config{IngressAddr: "127.0.0.1:0", Health: checker, Version: "9.8.7", Mode: "demo"})
	r := do(s.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{"9.8.7", "healthy", "connected", "simulated home"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("status page lacks %q:\n%s", want, r.body)
		}
	}
	for _, external := range []string{"http://", "https://", `src="/`, `href="/`} {
		if strings.Contains(r.body, external) {
			t.Errorf("status page references %q; it must be self-contained and relative", external)
		}
	}

	checker.set(0, errors.New("dial tcp: connection <refused>"))
	r = do(s.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil)
	for _, want := range []string{"unhealthy", "unavailable", "connection &lt;refused&gt;"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("status page with HA down lacks %q:\n%s", want, r.body)
		}
	}
}

// TestStatusPageToken shows a generated token on the status page, and only
// then: a token the user chose stays off the page.
func TestStatusPageToken(t *testing.T) {
	const token = "generated-token-0123456789abcdef"
	for _, show := range []bool{true, false} {
		s := newTestServer(t, Config{IngressAddr: "127.0.0.1:0", APIToken: token, ShowAPIToken: show})
		r := do(s.IngressHandler(), "GET", "/", "172.30.32.2:1234", nil)
		if r.status != http.StatusOK {
			t.Fatalf("ShowAPIToken %v: status %d", show, r.status)
		}
		if got := strings.Contains(r.body, `value="`+token+`"`); got != show {
			t.Errorf("ShowAPIToken %v: page shows the token: %v\n%s", show, got, r.body)
		}
		if got := strings.Contains(r.body, "copyToken()"); got != show {
			t.Errorf("ShowAPIToken %v: page has the copy button: %v", show, got)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
		}
	}
}

func TestNoIngressHandler(t *testing.T) {
	s := newTestServer(t, Config{})
	if s.IngressHandler() != nil {
		t.Error("IngressHandler() != nil without IngressAddr")
	}
}

func TestRecovery(t *testing.T) {
	s := newTestServer(t, Config{Routes: func(api *gin.RouterGroup) {
		api.GET("/boom", func(*gin.Context) { panic("kaboom") })
	}})
	r := do(s.Handler(), "GET", "/boom", "", nil)
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`
	if r.status != http.StatusInternalServerError || r.body != want {
		t.Errorf("got %d %s, want 500 %s", r.status, r.body, want)
	}
	// The server keeps serving after a panic.
	if got := do(s.Handler(), "GET", "/health", "", nil).status; got != http.StatusOK {
		t.Errorf("health after panic = %d", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no addr", Config{Health: &fakeChecker{}}, "Addr is required"},
		{"no checker", Config{Addr: ":0"}, "Health is required"},
		{"bad health path", Config{Addr: ":0", Health: &fakeChecker{}, HealthPath: "health"}, "must start with /"},
		{"token with space", Config{Addr: ":0", Health: &fakeChecker{}, APIToken: "a b"}, "whitespace"},
		{"negative timeout", Config{Addr: ":0", Health: &fakeChecker{}, HealthTimeout: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
			}
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted an invalid Config")
			}
		})
	}
}

// TestUnknownRouteAndMethod checks the JSON answers for an unknown path
// (404) and for a known path asked with the wrong method (405 with Allow).
func TestUnknownRouteAndMethod(t *testing.T) {
	s := newTestServer(t, Config{Routes: func(api *gin.RouterGroup) {
		api.POST("/thing", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	}})
	r := do(s.Handler(), "GET", "/thing", "127.0.0.1:1", nil)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" ||
		!strings.Contains(r.body, `GET is not allowed on /thing; use POST`) {
		t.Errorf("GET /thing: %d Allow=%q %s; want 405 naming POST", r.status, r.header.Get("Allow"), r.body)
	}
	r = do(s.Handler(), "GET", "/nothing", "127.0.0.1:1", nil)
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "no route for GET /nothing") {
		t.Errorf("GET /nothing: %d %s; want 404", r.status, r.body)
	}
}

// TestIngressRoutes serves extra routes on the Ingress port, where
// IngressUser names the Home Assistant user, and not on the main API.
func TestIngressRoutes(t *testing.T) {
	who := func(c *gin.Context) { c.String(200, "user=%s", IngressUser(c.Request)) }
	s, err := New(Config{
		Addr: "127.0.0.1:0", IngressAddr: "127.0.0.1:0", IngressAllowLoopback: true, Health: &fakeChecker{},
		Routes:        func(g *gin.RouterGroup) { g.GET("/who", who) },
		IngressRoutes: func(g *gin.RouterGroup) { g.GET("/who", who) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
		user    string
		want    string
	}{
		{"ingress with a user", s.IngressHandler(), "0123abcd", "user=ha:0123abcd"},
		{"ingress without a user", s.IngressHandler(), "", "user=ha"},
		{"main API", s.Handler(), "0123abcd", "user="},
	} {
		req := httptest.NewRequest(http.MethodGet, "/who", nil)
		req.RemoteAddr = "127.0.0.1:5000"
		if tc.user != "" {
			req.Header.Set("X-Remote-User-Id", tc.user)
		}
		rec := httptest.NewRecorder()
		tc.handler.ServeHTTP(rec, req)
		if got := rec.Body.String(); got != tc.want {
			t.Errorf("%s: %q; want %q", tc.name, got, tc.want)
		}
	}
}
