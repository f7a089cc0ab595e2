package simhome_test

import (
	"net/http"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestServed counts the requests answered, by kind: WebSocket commands by
// type, REST requests by route; refused requests are not answered.
func TestServed(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	ws := connect(t, s)
	ws.result(map[string]any{"type": "get_states"})
	ws.result(map[string]any{"type": "get_states"})
	get := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, s.RESTURL()+"/states", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(s.Token())
	get("wrong")
	for kind, want := range map[string]int64{"get_states": 2, "GET /api/states": 1, "get_config": 0} {
		if got := s.Served(kind); got != want {
			t.Errorf("Served(%q) = %d; want %d", kind, got, want)
		}
	}
}
