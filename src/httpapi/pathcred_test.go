package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
)

const testPathToken = "Path-token_0123456789abcdefghijklmnop"

// TestPathCredential checks the URL credential Home Assistant's MCP
// integration uses: only the exact prefix, token and listed path are
// admitted, as the credential's principal; everything else is answered as a
// request without a bearer token; the log never holds the token.
func TestPathCredential(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Config{
		APIToken:       testToken,
		RequireToken:   true,
		PathCredential: &PathCredential{Prefix: "/hass/", Token: testPathToken, Principal: "home-assistant", Paths: []string{"/who"}},
		Logger:         zerolog.New(&logs).Level(zerolog.DebugLevel),
		Routes: func(api *gin.RouterGroup) {
			api.GET("/who", func(c *gin.Context) {
				c.String(http.StatusOK, "principal=%q path=%s", PathPrincipal(c.Request), c.Request.URL.Path)
			})
			api.GET("/other", func(c *gin.Context) { c.String(http.StatusOK, "other") })
		},
	})
	tests := []struct {
		name, path, auth string
		wantStatus       int
		wantBody         string
	}{
		{name: "path token", path: "/hass/" + testPathToken + "/who", wantStatus: 200, wantBody: `principal="home-assistant" path=/who`},
		{name: "bearer on the plain route", path: "/who", auth: "Bearer " + testToken, wantStatus: 200, wantBody: `principal="" path=/who`},
		{name: "plain route without bearer", path: "/who", wantStatus: 401, wantBody: msgBadToken},
		{name: "wrong path token", path: "/hass/" + strings.ToUpper(testPathToken) + "/who", wantStatus: 401, wantBody: msgBadToken},
		{name: "path token prefix", path: "/hass/" + testPathToken[:20] + "/who", wantStatus: 401, wantBody: msgBadToken},
		{name: "path token, route not listed", path: "/hass/" + testPathToken + "/other", wantStatus: 401, wantBody: msgBadToken},
		{name: "path token, no route", path: "/hass/" + testPathToken, wantStatus: 401, wantBody: msgBadToken},
		{name: "path token, trailing slash", path: "/hass/" + testPathToken + "/who/", wantStatus: 401, wantBody: msgBadToken},
		{name: "API token does not open the path", path: "/hass/" + testToken + "/who", wantStatus: 401, wantBody: msgBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			r := do(s.Handler(), http.MethodGet, tt.path, "192.0.2.1:1234", h)
			if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("GET %s: %d %s, want %d with %q", tt.path, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if strings.Contains(logs.String(), testPathToken) || strings.Contains(logs.String(), testPathToken[:20]) {
		t.Errorf("the log holds the path token:\n%s", logs.String())
	}
}

func TestPathCredentialValidate(t *testing.T) {
	for _, pc := range []PathCredential{
		{Prefix: "hass/", Token: testPathToken, Principal: "p", Paths: []string{"/mcp"}},
		{Prefix: "/hass", Token: testPathToken, Principal: "p", Paths: []string{"/mcp"}},
		{Prefix: "/hass/", Token: "short", Principal: "p", Paths: []string{"/mcp"}},
		{Prefix: "/hass/", Token: testPathToken + "/x", Principal: "p", Paths: []string{"/mcp"}},
		{Prefix: "/hass/", Token: testPathToken, Paths: []string{"/mcp"}},
		{Prefix: "/hass/", Token: testPathToken, Principal: "p"},
	} {
		if err := (Config{Addr: ":0", Health: &fakeChecker{}, PathCredential: &pc}).Validate(); err == nil {
			t.Errorf("Validate accepted %+v", pc)
		}
	}
}
