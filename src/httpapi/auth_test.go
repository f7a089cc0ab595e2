package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
)

const testToken = "s3cret-token-0123456789"

func withEcho(api *gin.RouterGroup) {
	api.GET("/echo", func(c *gin.Context) { c.String(http.StatusOK, "echo") })
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name         string
		token        string
		requireToken bool
		path         string
		auth         string
		wantStatus   int
		wantMessage  string // in the 401 body
	}{
		{name: "valid token", token: testToken, path: "/echo", auth: "Bearer " + testToken, wantStatus: 200},
		{name: "scheme is case-insensitive", token: testToken, path: "/echo", auth: "bearer " + testToken, wantStatus: 200},
		{name: "no header", token: testToken, path: "/echo", wantStatus: 401, wantMessage: msgBadToken},
		{name: "wrong token", token: testToken, path: "/echo", auth: "Bearer nope", wantStatus: 401, wantMessage: msgBadToken},
		{name: "token prefix", token: testToken, path: "/echo", auth: "Bearer " + testToken[:5], wantStatus: 401, wantMessage: msgBadToken},
		{name: "basic scheme", token: testToken, path: "/echo", auth: "Basic " + testToken, wantStatus: 401, wantMessage: msgBadToken},
		{name: "unknown path needs token too", token: testToken, path: "/nope", wantStatus: 401, wantMessage: msgBadToken},
		{name: "unknown path with token is 404", token: testToken, path: "/nope", auth: "Bearer " + testToken, wantStatus: 404},
		{name: "health needs no token", token: testToken, path: "/health", wantStatus: 200},
		{name: "no token configured, standalone", path: "/echo", wantStatus: 200},
		{name: "no token configured, add-on", requireToken: true, path: "/echo", wantStatus: 401, wantMessage: "api_token"},
		{name: "no token configured, add-on, health", requireToken: true, path: "/health", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Config{APIToken: tt.token, RequireToken: tt.requireToken, Routes: withEcho})
			header := map[string]string{}
			if tt.auth != "" {
				header["Authorization"] = tt.auth
			}
			r := do(s.Handler(), "GET", tt.path, "", header)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus != http.StatusUnauthorized {
				return
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want Bearer challenge", got)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(r.body), &body); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			errObj, _ := body["error"].(map[string]any)
			if body["jsonrpc"] != "2.0" || body["id"] != nil || errObj["code"] != float64(CodeUnauthorized) {
				t.Errorf("body = %s, want JSON-RPC error with code %d and null id", r.body, CodeUnauthorized)
			}
			if msg, _ := errObj["message"].(string); !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.wantMessage)
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	s := newTestServer(t, Config{APIToken: testToken})
	r := do(s.Handler(), "GET", "/x", "", nil)
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-31001,"message":"missing or invalid bearer token"}}`
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("401 body (-want +got):\n%s", diff)
	}
}
