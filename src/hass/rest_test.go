package hass_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestRESTErrors(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c, err := hass.New(testConfig(t, srv)) // REST needs no Run
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)

	srv.SetState("sensor.rest_probe", "42", map[string]any{"unit_of_measurement": "W"})
	st, err := c.GetState(ctx, "sensor.rest_probe")
	if err != nil || st.State != "42" || st.Attributes["unit_of_measurement"] != "W" {
		t.Errorf("GetState = %+v, %v; want 42 W", st, err)
	}

	_, err = c.GetState(ctx, "sensor.does_not_exist")
	var haErr *hass.Error
	if !errors.As(err, &haErr) || haErr.Code != "http_404" || haErr.StatusCode != 404 || haErr.Message == "" {
		t.Errorf("GetState of a missing entity = %#v, want *hass.Error http_404 with a message", err)
	}
	if !hass.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}

	for _, bad := range []struct{ method, path string }{{"PUT", "/states/x"}, {"PATCH", "/"}, {"GET", "states"}} {
		if err := c.REST(ctx, bad.method, bad.path, nil, nil); err == nil {
			t.Errorf("REST(%s %s) accepted", bad.method, bad.path)
		}
	}

	wrong := testConfig(t, srv)
	wrong.Token = "nope"
	cw, err := hass.New(wrong)
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.REST(ctx, "GET", "/config", nil, nil); !errors.As(err, &haErr) || haErr.StatusCode != 401 || haErr.Code != "http_401" {
		t.Errorf("REST with a wrong token = %v, want http_401", err)
	}

	srv.Stop()
	if _, err := c.GetState(ctx, "sensor.rest_probe"); !errors.Is(err, hass.ErrUnavailable) {
		t.Errorf("GetState while stopped = %v, want ErrUnavailable", err)
	}
}

// supervisorProxy models the Supervisor's Home Assistant proxy: REST under
// /core/api/ and the WebSocket at /core/websocket, forwarded to srv. It
// records the paths it served.
type supervisorProxy struct {
	mu    sync.Mutex
	paths []string
}

func (p *supervisorProxy) handler(t *testing.T, target string) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		path := r.In.URL.Path
		if path == "/core/websocket" {
			r.Out.URL.Path = "/api/websocket"
		} else {
			r.Out.URL.Path = strings.TrimPrefix(path, "/core")
		}
		r.Out.URL.RawPath = ""
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		p.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/core/api/") && r.URL.Path != "/core/websocket" {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	})
}

func (p *supervisorProxy) served(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, got := range p.paths {
		if got == path {
			return true
		}
	}
	return false
}

func TestSupervisorURLLayout(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	proxy := &supervisorProxy{}
	web := httptest.NewServer(proxy.handler(t, srv.URL()))
	t.Cleanup(web.Close)

	cfg := testConfig(t, srv)
	cfg.RESTURL = web.URL + "/core/api/" // a trailing slash must not double up
	cfg.WebSocketURL = "ws" + strings.TrimPrefix(web.URL, "http") + "/core/websocket"
	c := startClient(t, cfg)
	waitConnected(t, c)

	srv.SetState("sensor.proxied", "7", nil)
	if st, err := c.GetState(testCtx(t), "sensor.proxied"); err != nil || st.State != "7" {
		t.Errorf("GetState through the proxy = %+v, %v", st, err)
	}
	if states, err := c.GetStates(testCtx(t)); err != nil || len(states) == 0 {
		t.Errorf("GetStates through the proxy = %d states, %v", len(states), err)
	}
	var haErr *hass.Error
	if _, err := c.GetState(testCtx(t), "sensor.missing"); !errors.As(err, &haErr) || haErr.StatusCode != 404 {
		t.Errorf("missing entity through the proxy = %v, want 404", err)
	}
	for _, want := range []string{"/core/websocket", "/core/api/states/sensor.proxied"} {
		if !proxy.served(want) {
			t.Errorf("proxy never served %s", want)
		}
	}
}
