package simhome_test

import (
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestHangService checks that a hung call is held unanswered and unrun
// while later commands on the same connection are answered, runs once on
// ReleaseServices, and that a hung call whose connection closes never runs.
func TestHangService(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	s.HangService("switch", "turn_on")
	hung := w.command(map[string]any{"type": "call_service", "domain": "switch", "service": "turn_on",
		"target": map[string]any{"entity_id": "switch.coffee_machine"}})
	mustSucceed(t, callService(w, "switch", "turn_off", nil, map[string]any{"entity_id": "switch.coffee_machine"}))
	if n := len(s.ServiceCalls()); n != 1 {
		t.Fatalf("%d calls recorded while one hangs, want 1 (the turn_off)", n)
	}
	s.ReleaseServices()
	got := w.waitFor(func(m map[string]any) bool { return m["type"] == "result" && m["id"] == float64(hung) })
	if got["success"] != true {
		t.Errorf("released call answered %v, want success", got)
	}
	if calls := s.ServiceCalls(); len(calls) != 2 || calls[1].Service != "turn_on" {
		t.Errorf("ServiceCalls() = %+v, want turn_off then the released turn_on", calls)
	}

	s.HangService("switch", "toggle")
	w2 := connect(t, s)
	w2.command(map[string]any{"type": "call_service", "domain": "switch", "service": "toggle",
		"target": map[string]any{"entity_id": "switch.coffee_machine"}})
	mustSucceed(t, callService(w2, "switch", "turn_off", nil, map[string]any{"entity_id": "switch.coffee_machine"}))
	w2.c.CloseNow()
	s.DropConnections()
	s.ReleaseServices()
	s.Stop() // waits for every handler, hence for the abandoned call
	for _, c := range s.ServiceCalls() {
		if c.Service == "toggle" {
			t.Errorf("a hung call ran after its connection closed: %+v", c)
		}
	}
}
