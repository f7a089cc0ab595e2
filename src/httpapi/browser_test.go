package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestRefuseWebPages refuses, on a loopback listener, requests that a web
// page made: a foreign Origin (cross-site request) or a Host that is not
// this machine (DNS rebinding). Other listeners and the health path are
// left alone.
func TestRefuseWebPages(t *testing.T) {
	s := newTestServer(t, Config{Routes: func(api *gin.RouterGroup) {
		api.POST("/call", func(c *gin.Context) { c.String(http.StatusOK, "called") })
	}})
	loopback, lan := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3003}, &net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 3003}
	tests := []struct {
		name, path, host, origin string
		local                    net.Addr
		want                     int
	}{
		{"local program", "/call", "127.0.0.1:3003", "", loopback, 200},
		{"localhost host", "/call", "localhost:3003", "", loopback, 200},
		{"IPv6 loopback host", "/call", "[::1]:3003", "", loopback, 200},
		{"localhost page", "/call", "127.0.0.1:3003", "http://localhost:5173", loopback, 200},
		{"loopback page", "/call", "127.0.0.1:3003", "https://127.0.0.1", loopback, 200},
		{"cross-site page", "/call", "127.0.0.1:3003", "http://evil.example", loopback, 403},
		{"sandboxed page", "/call", "127.0.0.1:3003", "null", loopback, 403},
		{"file page", "/call", "127.0.0.1:3003", "file://", loopback, 403},
		{"localhost lookalike", "/call", "127.0.0.1:3003", "http://localhost.evil.example", loopback, 403},
		{"DNS rebinding", "/call", "evil.example:3003", "", loopback, 403},
		{"DNS rebinding without port", "/call", "evil.example", "", loopback, 403},
		{"LAN address as Host", "/call", "192.168.1.5:3003", "", loopback, 403},
		{"health with any Host", "/health", "evil.example", "http://evil.example", loopback, 200},
		{"LAN listener, foreign host", "/call", "bridge.lan:3003", "http://evil.example", lan, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.path == "/health" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, tt.path, nil)
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tt.local))
			req.Host = tt.host
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("got %d %s; want %d", rec.Code, rec.Body, tt.want)
			}
			if tt.want == 403 && !strings.Contains(rec.Body.String(), `"code":-31003`) {
				t.Errorf("403 body %s is not the JSON-RPC forbidden error", rec.Body)
			}
		})
	}
	// With a token, the token protects the API (a page cannot attach it),
	// and a reverse proxy on this machine may pass on its own Host.
	withToken := newTestServer(t, Config{APIToken: "secret-token-1234567890", Routes: func(api *gin.RouterGroup) {
		api.POST("/call", func(c *gin.Context) { c.String(http.StatusOK, "called") })
	}})
	req := httptest.NewRequest(http.MethodPost, "/call", nil)
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, loopback))
	req.Host = "bridge.example.com"
	req.Header.Set("Authorization", "Bearer secret-token-1234567890")
	rec := httptest.NewRecorder()
	withToken.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("a proxied request with the token: %d %s; want 200", rec.Code, rec.Body)
	}
}

// TestIngressRefusesWebPages applies the check on the Ingress port, which
// asks for no token, even when the main API has one.
func TestIngressRefusesWebPages(t *testing.T) {
	s := newTestServer(t, Config{APIToken: "secret-token-1234567890", IngressAddr: "127.0.0.1:0", IngressAllowLoopback: true})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8099}))
	req.RemoteAddr = "127.0.0.1:40000"
	req.Host = "evil.example:8099"
	rec := httptest.NewRecorder()
	s.IngressHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("Ingress page with a foreign Host on loopback: %d; want 403", rec.Code)
	}
}
