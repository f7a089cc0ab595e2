package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ingressPrefix is where the test's proxy serves the dashboard, as the
// Supervisor does under /api/hassio_ingress/<token>/.
const ingressPrefix = "/api/hassio_ingress/abc123"

// browser finds Chromium (CHROMIUM, else /usr/bin/chromium) and
// playwright-core, skipping the test (or failing it when CI is set) when
// either is missing.
func browser(t *testing.T, c nodeClients) string {
	t.Helper()
	missing := func(msg string) {
		msg += "; install chromium (bash .ci/setup-system) and playwright-core (bash .ci/setup-node)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		missing("no Chromium at " + path)
	}
	if _, err := os.Stat(filepath.Join(c.modules, "playwright-core", "package.json")); err != nil {
		missing("npm package playwright-core is not installed in " + c.modules)
	}
	return path
}

// ingressProxy serves the Ingress port under ingressPrefix with the headers
// the Supervisor's proxy adds for a logged-in Home Assistant user.
func ingressProxy(t *testing.T, ingress string) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(ingress)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, ingressPrefix)
		r.Out.URL.RawPath = ""
		r.Out.Host = target.Host
		for k, v := range map[string]string{"X-Ingress-Path": ingressPrefix, "X-Remote-User-Id": "a11ce0123456789",
			"X-Remote-User-Name": "alice", "X-Remote-User-Display-Name": "Alice"} {
			r.Out.Header.Set(k, v)
		}
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ingressPrefix+"/") {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// screenshotDir is where the browser test saves its screenshots:
// $SCREENSHOTS, else a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SCREENSHOTS"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	return t.TempDir()
}

// TestDashboardBrowser loads the Ingress dashboard in headless Chromium
// behind a proxy that plays the Supervisor's, while reads keep coming:
// the live figures move, the tool tester runs a tool, a write shows in
// the audit log under the user's name, a snippet is copied, both themes
// work, nothing is logged as an error and no request leaves the machine
// (.ci/npm/e2e/dashboard.mjs has the checks).
func TestDashboardBrowser(t *testing.T) {
	c := clients(t)
	chromiumPath := browser(t, c)
	ingressPort := freePort(t)
	b := startBridge(t, map[string]string{envIngressPort: strconv.Itoa(ingressPort), envData: t.TempDir()}, "--demo")
	b.waitSessions(t)
	proxy := ingressProxy(t, fmt.Sprintf("http://127.0.0.1:%d", ingressPort))

	// Reads every 200 ms, well under the rate limit, so that the charts
	// have something to draw.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		body := `{"name":"get_entity_state","arguments":{"entity_id":"light.living_room_floor_lamp"}}`
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/mcp/tools/call", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+b.token)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(); <-done }()

	shots := screenshotDir(t)
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer scancel()
	out, err := c.run(sctx, []string{"CHROMIUM=" + chromiumPath, "SCREENSHOTS=" + shots, "API_URL=" + b.base + "/mcp"},
		"e2e/dashboard.mjs", proxy.URL+ingressPrefix+"/")
	t.Logf("dashboard.mjs (screenshots in %s):\n%s", shots, out)
	if err != nil {
		t.Fatalf("dashboard.mjs: %v", err)
	}
	for _, name := range []string{"dashboard-light.png", "dashboard-dark.png"} {
		if fi, err := os.Stat(filepath.Join(shots, name)); err != nil || fi.Size() < 10000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
