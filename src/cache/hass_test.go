package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestEventsFromHomeAssistant wires the cache as the bridge will: the
// bridge's own hass.Client subscribes to every event of the fake Home
// Assistant and feeds them to OnEvent. Real event shapes reach the
// invalidation; a dropped connection flushes through the Missed event.
func TestEventsFromHomeAssistant(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	client, err := hass.New(hass.Config{RESTURL: srv.RESTURL(), WebSocketURL: srv.WebSocketURL(), Token: srv.Token(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := newCache(t, cache.Config{Settle: -1})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { client.Run(ctx) })
	if err := client.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	sub, err := client.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var seen, missed atomic.Int64
	wg.Go(func() { // the bridge's event sink
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-sub.Events():
				if !ok {
					return
				}
				c.OnEvent(cache.Event{Type: ev.EventType, Data: ev.Data, Time: ev.TimeFired, Missed: ev.Missed})
				if ev.Missed {
					missed.Add(1)
				}
				seen.Add(1)
			}
		}
	})
	srv.SetState("light.cache_test", "off", map[string]any{"friendly_name": "Cache test"})
	waitFor(t, 5*time.Second, "the first event", func() bool { return seen.Load() > 0 })

	f := &counter{}
	lightsOn := q("get_entities", `{"domain":"light","state":"on"}`)
	state := q("get_entity_state", `{"entity_id":"light.cache_test"}`)
	services := q("get_services", `{}`)
	for _, query := range []cache.Query{lightsOn, state, services} {
		do(t, c, query, f.fill)
	}
	cached := func(query cache.Query) bool { _, ok := c.Get(ctx, query); return ok }

	n := seen.Load()
	srv.SetState("switch.cache_test", "on", nil) // unrelated
	waitFor(t, 5*time.Second, "the switch's event", func() bool { return seen.Load() > n })
	if !cached(lightsOn) || !cached(state) {
		t.Error("an unrelated entity's change dropped light entries")
	}
	srv.SetState("light.cache_test", "on", nil)
	waitFor(t, 5*time.Second, "the light's entries to go", func() bool { return !cached(lightsOn) && !cached(state) })
	if !cached(services) {
		t.Error("a state change dropped get_services")
	}
	srv.FireEvent("service_registered", map[string]any{"domain": "light", "service": "blink"})
	waitFor(t, 5*time.Second, "get_services to go", func() bool { return !cached(services) })

	do(t, c, state, f.fill)
	srv.DropConnections()
	waitFor(t, 5*time.Second, "the Missed event after reconnecting", func() bool { return missed.Load() > 0 })
	if cached(state) || c.Paused() {
		t.Errorf("after the reconnect: entry cached %v, paused %v; want flushed, resumed", cached(state), c.Paused())
	}
}
