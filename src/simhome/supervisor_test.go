package simhome_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestSupervisorProxy checks the modelled Supervisor proxy: REST under
// /core/api/ with the token and only GET, POST and DELETE, and the
// WebSocket at /core/websocket.
func TestSupervisorProxy(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	do := func(method, path, token string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tests := []struct {
		method, path, token string
		want                int
		body                string
	}{
		{"GET", "/core/api/states/lock.front_door", s.Token(), 200, `"entity_id":"lock.front_door"`},
		{"GET", "/core/api/states/lock.front_door", "wrong", 401, "401: Unauthorized"},
		{"POST", "/core/api/services/light/turn_on", s.Token(), 200, "["},
		{"PUT", "/core/api/states/lock.front_door", s.Token(), 405, "405"},
		{"GET", "/core/nothing", s.Token(), 404, "404"},
	}
	for _, tt := range tests {
		if got, body := do(tt.method, tt.path, tt.token); got != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s: %d %.200q, want %d with %q", tt.method, tt.path, got, body, tt.want, tt.body)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/core/websocket", nil)
	if err != nil {
		t.Fatalf("dial /core/websocket: %v", err)
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), "auth_required") {
		t.Fatalf("first message %q, %v; want auth_required", msg, err)
	}
	if n := s.SupervisorRequests(); n != 4 {
		t.Errorf("SupervisorRequests() = %d, want 4 (3 REST forwarded, 1 WebSocket)", n)
	}
}

// TestDiscoveryAPI checks the modelled Supervisor discovery API: the add-on's
// token, the body schema, the services the add-on lists, one message per
// service (kept with its uuid, its config replaced by a new one), and delete.
func TestDiscoveryAPI(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Token: "sup"})
	s.SetDiscoveryServices("mcp")
	post := func(token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/discovery", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	for _, tc := range []struct {
		token, body string
		want        int
	}{
		{"", `{"service":"mcp","config":{"url":"http://a"}}`, 401},
		{"nope", `{"service":"mcp","config":{"url":"http://a"}}`, 401},
		{"sup", `{"service":"mcp"}`, 400},
		{"sup", `{"service":"mcp","config":"x"}`, 400},
		{"sup", `{"service":"mcp","config":{},"extra":1}`, 400},
		{"sup", `{"service":"mqtt","config":{"url":"http://a"}}`, 403},
	} {
		if code, _ := post(tc.token, tc.body); code != tc.want {
			t.Errorf("POST /discovery %s (token %q): %d, want %d", tc.body, tc.token, code, tc.want)
		}
	}
	code, a := post("sup", `{"service":"mcp","config":{"url":"http://a"}}`)
	uuid, _ := a["data"].(map[string]any)["uuid"].(string)
	if code != 200 || a["result"] != "ok" || uuid == "" {
		t.Fatalf("POST /discovery: %d %v", code, a)
	}
	if _, again := post("sup", `{"service":"mcp","config":{"url":"http://a"}}`); again["data"].(map[string]any)["uuid"] != uuid {
		t.Error("the same message got a new uuid")
	}
	// As the Supervisor's Discovery.send does, a new config updates the
	// add-on's message in place: the uuid stays, so that Home Assistant's
	// flow (whose unique id is the uuid) updates its entry's URL.
	_, other := post("sup", `{"service":"mcp","config":{"url":"http://b"}}`)
	if got := other["data"].(map[string]any)["uuid"]; got != uuid {
		t.Errorf("a new config got uuid %v, want the message's %s", got, uuid)
	}
	if msgs := s.Discovery(); len(msgs) != 1 || msgs[0].Config["url"] != "http://b" || msgs[0].UUID != uuid {
		t.Errorf("after a new config: %+v, want one message with url http://b and uuid %s", msgs, uuid)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/discovery/"+other["data"].(map[string]any)["uuid"].(string), nil)
	req.Header.Set("Authorization", "Bearer sup")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(s.Discovery()) != 0 {
		t.Errorf("DELETE: %d, %d messages left", resp.StatusCode, len(s.Discovery()))
	}
}
