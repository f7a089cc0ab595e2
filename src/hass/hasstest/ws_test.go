package hasstest_test

import (
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/hass/hasstest"
)

func TestAuthOK(t *testing.T) {
	s := hasstest.NewServer(t, hasstest.Options{Version: "2026.1.0"})
	w := dial(t, s)
	if got := w.read(); got["type"] != "auth_required" || got["ha_version"] != "2026.1.0" {
		t.Fatalf("got %v, want auth_required with ha_version", got)
	}
	w.send(map[string]any{"type": "auth", "access_token": s.Token()})
	if got := w.read(); got["type"] != "auth_ok" || got["ha_version"] != "2026.1.0" {
		t.Fatalf("got %v, want auth_ok", got)
	}
}

func TestCallServiceChangesStateAndFiresEvents(t *testing.T) {
	s := hasstest.NewServer(t, hasstest.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "state_changed"}))
	res := w.result(map[string]any{"type": "call_service", "domain": "light", "service": "turn_on",
		"service_data": map[string]any{"brightness": 100}, "target": map[string]any{"entity_id": "light.kitchen_spots"}})
	t.Logf("%v", res)
}
