package simhome_test

import (
	"context"
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
