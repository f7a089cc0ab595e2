package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// readState calls get_entity_state through the REST API and returns the
// entity's state and whether the bridge answered from its cache.
func readState(t *testing.T, b *bridgeProc, entity string) (state string, cached bool) {
	t.Helper()
	return readStateWith(t, b, entity, "")
}

// readStateWith is readState with an X-Cache-Control header.
func readStateWith(t *testing.T, b *bridgeProc, entity, control string) (state string, cached bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "get_entity_state", "arguments": map[string]any{"entity_id": entity}})
	status, m := b.postWith(t, "/mcp/tools/call", b.token, string(body), map[string]string{"X-Cache-Control": control})
	res, _ := m["result"].(map[string]any)
	if status != 200 || res == nil || res["isError"] == true {
		t.Fatalf("get_entity_state %s: %d %v", entity, status, m)
	}
	sc, _ := res["structuredContent"].(map[string]any)
	state, _ = sc["state"].(string)
	meta, _ := res["_meta"].(map[string]any)
	cached, _ = meta["io.github.mcp-bridge/cached"].(bool)
	if state == "" {
		t.Fatalf("get_entity_state %s: no state in %v", entity, res)
	}
	return state, cached
}

// cacheHits reads mcp_bridge_cache_hits_total (every level) from /metrics.
func cacheHits(t *testing.T, b *bridgeProc) int {
	t.Helper()
	a := request(t, b.base+"/metrics", b.token)
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^mcp_bridge_cache_hits_total\{[^}]*\} (\d+)`).FindAllStringSubmatch(a.body, -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

// TestServeCache runs the real binary against the fake Home Assistant and
// checks the response cache end to end: a repeated read is served from the
// cache, a state changed from outside (a person flips a switch) is never
// served stale once Home Assistant has announced it, and a write is seen by
// the very next read.
func TestServeCache(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	b := startBridge(t, map[string]string{envHassURL: ha.URL(), envHassToken: ha.Token()})
	b.waitSessions(t)
	const light = "light.kitchen_spots"
	first, _ := readState(t, b, light)
	if _, cached := readState(t, b, light); !cached {
		t.Error("a repeated read was not served from the cache")
	}
	if _, cached := readStateWith(t, b, light, "no-cache"); cached {
		t.Error("X-Cache-Control: no-cache was answered from the cache")
	}
	if hits := cacheHits(t, b); hits < 1 {
		t.Errorf("mcp_bridge_cache_hits_total = %d after a cached read", hits)
	}
	if a := request(t, b.base+"/mcp/status", b.token); !strings.Contains(a.body, `"cache":{"hit_rate":`) {
		t.Errorf("/mcp/status has no cache figures: %s", a.body)
	}

	// Someone flips the light at home: once a read shows the new state, no
	// later read may show the old one, cached or not.
	flipped := map[string]string{"on": "off", "off": "on"}[first]
	if flipped == "" {
		t.Fatalf("unexpected state %q", first)
	}
	ha.SetState(light, flipped, nil)
	// (The API's rate limit allows 100 requests at once: the loop stays
	// well under it.)
	deadline := time.Now().Add(10 * time.Second)
	for after := -1; after < 20; {
		state, cached := readState(t, b, light)
		switch {
		case state == flipped:
			after++
		case after >= 0:
			t.Fatalf("%q (cached %v) after %q was already served: stale", state, cached, flipped)
		case time.Now().After(deadline):
			t.Fatalf("the flipped state %q never reached the cache", flipped)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A write through the bridge is seen by the next read, before any event.
	service := map[string]string{"on": "turn_on", "off": "turn_off"}[first]
	b.callTool(t, "call_service", map[string]any{"domain": "light", "service": service, "entity_id": light})
	if state, cached := readState(t, b, light); state != first {
		t.Errorf("the read right after %s answered %q (cached %v); want %q", service, state, cached, first)
	}
	if !strings.Contains(fmt.Sprint(stateOf(t, ha, light)), first) {
		t.Errorf("Home Assistant has %q after %s", stateOf(t, ha, light), service)
	}
}

// historyServed is how many history requests the fake Home Assistant has
// answered: one per get_history a child ran.
func historyServed(ha *simhome.Server) int64 {
	return ha.Served("GET /api/history/period") + ha.Served("GET /api/history/period/{start...}")
}

// TestServeCacheSparesHomeAssistant shows, through the real binary and its
// children, that identical reads arriving together run once, that repeated
// reads reach neither the children nor Home Assistant (every child's
// get_history asks Home Assistant once), and that a change made while the
// bridge's connection to Home Assistant was down is never answered from
// the cache afterwards: the drop flushed it, nothing was cached while
// down, and caching resumes once the connection is back.
func TestServeCacheSparesHomeAssistant(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	b := startBridge(t, map[string]string{envHassURL: ha.URL(), envHassToken: ha.Token()})
	b.waitSessions(t)
	const light = "light.kitchen_spots"
	body, _ := json.Marshal(map[string]any{"name": "get_history", "arguments": map[string]any{"entity_id": light, "start": "-1h"}})

	before := historyServed(ha)
	const together = 20
	var wg sync.WaitGroup
	errs := make(chan error, together)
	for range together {
		wg.Go(func() {
			if status, m, err := postJSON(b.base+"/mcp/tools/call", b.token, body); err != nil || status != 200 {
				errs <- fmt.Errorf("get_history: %d %v %v", status, m, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := historyServed(ha) - before; got != 1 {
		t.Errorf("%d identical reads at once: Home Assistant answered %d history requests; want 1", together, got)
	}
	for i := range 30 {
		status, m, err := postJSON(b.base+"/mcp/tools/call", b.token, body)
		meta, _ := m["result"].(map[string]any)["_meta"].(map[string]any)
		if err != nil || status != 200 || meta["io.github.mcp-bridge/cached"] != true {
			t.Fatalf("read %d: %d %v %v; want a cached answer", i, status, err, m)
		}
	}
	if got := historyServed(ha) - before; got != 1 {
		t.Errorf("after 30 more reads Home Assistant answered %d history requests; want 1", got)
	}

	// The connection drops; the light changes meanwhile; no event will ever
	// say so. The first answer after the reconnect shows the change.
	if first, _ := readState(t, b, light); first != "off" {
		t.Fatalf("%s is %q; want off", light, first)
	}
	if _, cached := readState(t, b, light); !cached {
		t.Fatal("a repeated read was not cached")
	}
	ha.Stop()
	for start := time.Now(); request(t, b.base+"/health", b.token).status == 200; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the bridge did not notice that Home Assistant stopped")
		}
	}
	ha.SetState(light, "on", nil)
	if err := ha.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	sbody, _ := json.Marshal(map[string]any{"name": "get_entity_state", "arguments": map[string]any{"entity_id": light}})
	for {
		status, m, err := postJSON(b.base+"/mcp/tools/call", b.token, sbody)
		res, _ := m["result"].(map[string]any)
		if err == nil && status == 200 && res["isError"] != true {
			if sc, _ := res["structuredContent"].(map[string]any); sc["state"] != "on" {
				t.Fatalf("after the reconnect the bridge answered %v (_meta %v); want on", sc["state"], res["_meta"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer after Home Assistant came back: %d %v %v", status, m, err)
		}
		time.Sleep(200 * time.Millisecond) // within the rate limit
	}
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		state, cached := readState(t, b, light)
		if state != "on" {
			t.Fatalf("%s answered %q after on was shown", light, state)
		}
		if cached {
			break // caching resumed
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the cache did not resume after the reconnect")
		}
	}
}
