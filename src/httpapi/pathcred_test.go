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

// TestPathCredentialGuessesLimited: a wrong secret in the URL is a failed
// authentication like a wrong bearer token. It counts against the client
// address's failed-authentication limit, and an address over the limit is
// refused even with the right secret, as it is with the right token.
func TestPathCredentialGuessesLimited(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Config{
		APIToken:        testToken,
		RequireToken:    true,
		MaxAuthFailures: 3,
		PathCredential:  &PathCredential{Prefix: "/hass/", Token: testPathToken, Principal: "home-assistant", Paths: []string{"/who"}},
		Logger:          zerolog.New(&logs).Level(zerolog.DebugLevel),
		Routes: func(api *gin.RouterGroup) {
			api.GET("/who", func(c *gin.Context) { c.String(http.StatusOK, "principal=%q", PathPrincipal(c.Request)) })
		},
	})
	guess := "/hass/" + strings.Repeat("g", len(testPathToken)) + "/who"
	for i := 1; i <= 3; i++ {
		if r := do(s.Handler(), http.MethodGet, guess, "192.0.2.7:1234", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s, want 401", i, r.status, r.body)
		}
	}
	if r := do(s.Handler(), http.MethodGet, guess, "192.0.2.7:1234", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("guess past the limit: %d %s, want 429", r.status, r.body)
	}
	if r := do(s.Handler(), http.MethodGet, "/hass/"+testPathToken+"/who", "192.0.2.7:1234", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("right secret from the blocked address: %d %s, want 429", r.status, r.body)
	}
	if r := do(s.Handler(), http.MethodGet, "/hass/"+testPathToken+"/who", "192.0.2.8:1234", nil); r.status != http.StatusOK {
		t.Errorf("right secret from another address: %d %s, want 200", r.status, r.body)
	}
	// A right secret on a route it does not open guesses nothing.
	for i := 0; i < 5; i++ {
		if r := do(s.Handler(), http.MethodGet, "/hass/"+testPathToken+"/other", "192.0.2.9:1234", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("right secret, route not listed: %d %s, want 401", r.status, r.body)
		}
	}
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("the guesses are not logged as failed authentications:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testPathToken) || strings.Contains(logs.String(), strings.Repeat("g", 20)) {
		t.Errorf("the log holds a secret from the URL:\n%s", logs.String())
	}
}
