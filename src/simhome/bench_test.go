package simhome_test

import (
	"fmt"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func BenchmarkGetStates10k(b *testing.B) {
	s := simhome.NewServer(b, simhome.Options{Home: simhome.LargeHome(10000)})
	w := connect(b, s)
	for b.Loop() {
		w.result(map[string]any{"type": "get_states"})
	}
}

func BenchmarkCallService(b *testing.B) {
	s := simhome.NewServer(b, simhome.Options{})
	w := connect(b, s)
	for b.Loop() {
		w.result(map[string]any{"type": "call_service", "domain": "light", "service": "toggle",
			"target": map[string]any{"entity_id": "light.kitchen_spots"}})
	}
}

func BenchmarkSetStateFanOut(b *testing.B) {
	s := simhome.NewServer(b, simhome.Options{})
	const subscribers = 10
	clients := make([]*wsClient, subscribers)
	for i := range clients {
		clients[i] = connect(b, s)
		clients[i].result(map[string]any{"type": "subscribe_events", "event_type": "state_changed"})
	}
	i := 0
	for b.Loop() {
		i++
		s.SetState("sensor.power_consumption", fmt.Sprint(i), nil)
		for _, c := range clients {
			c.read()
		}
	}
}
