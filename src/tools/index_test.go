package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func stateOf(t *testing.T, e *testEnv, id string) string {
	t.Helper()
	res := e.call(t, "get_entity_state", map[string]any{"entity_id": id})
	if res.IsError {
		return "error: " + textOf(res)
	}
	var out entityStateOut
	decodeOut(t, res, &out)
	return out.State
}

func TestIndexFollowsEvents(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	if got := stateOf(t, e, "binary_sensor.garage_motion"); got != "off" {
		t.Fatalf("initial state %q", got)
	}
	e.ha.SetState("binary_sensor.garage_motion", "on", nil)
	eventually(t, "the index to see the motion", func() bool { return stateOf(t, e, "binary_sensor.garage_motion") == "on" })

	e.ha.SetState("sensor.new_thing", "5", map[string]any{"friendly_name": "New thing"})
	eventually(t, "a new entity", func() bool { return stateOf(t, e, "sensor.new_thing") == "5" })
	e.ha.RemoveState("sensor.new_thing")
	eventually(t, "a removed entity to go", func() bool {
		return strings.HasPrefix(stateOf(t, e, "sensor.new_thing"), "error: unknown entity")
	})
}

func TestHomeAssistantRestart(t *testing.T) {
	e := startEnv(t, Config{UnavailableWait: 200 * time.Millisecond}, simhome.Options{})
	if got := stateOf(t, e, "light.garage"); got != "off" {
		t.Fatalf("initial state %q", got)
	}
	e.ha.Stop()
	// While Home Assistant is down, calls fail with a clear message (the
	// first ones may still be answered before the client notices, or told
	// that the connection was lost under them).
	eventually(t, "calls to fail while Home Assistant is down", func() bool {
		res := e.call(t, "get_entities", map[string]any{"domain": "light"})
		if res.IsError && strings.Contains(textOf(res), "connection to Home Assistant was lost") {
			return false // sent as the connection dropped: the next one is refused
		}
		if res.IsError {
			wantError(t, res, "Home Assistant is unavailable")
		}
		return res.IsError
	})
	e.ha.SetState("light.garage", "on", nil) // changed while we were away
	if err := e.ha.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the client to reconnect", func() bool { return e.client.Status().Connected })
	if got := stateOf(t, e, "light.garage"); got != "on" {
		t.Errorf("after the restart, state %q; want on (the index must reload)", got)
	}
	e.ha.DropConnections()
	eventually(t, "the client to reconnect", func() bool { return e.ha.Connections() > 0 && e.client.Status().Connected })
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_off", "entity_id": "light.garage"}), &out)
	if len(out.Changed) != 1 || out.Changed[0].State != "off" {
		t.Errorf("after a dropped connection, turn_off changed %+v", out.Changed)
	}
}

// lossyHA loses the connection on every call_service, after sending it.
type lossyHA struct{ *hass.Client }

func (l lossyHA) Command(ctx context.Context, cmd any, result any) error {
	if m, ok := cmd.(map[string]any); ok && m["type"] == "call_service" && m["domain"] == "light" {
		return fmt.Errorf("%w: read: connection reset by peer", hass.ErrConnectionLost)
	}
	return l.Client.Command(ctx, cmd, result)
}

func TestConnectionLostDuringCall(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token()})
	if err != nil {
		t.Fatal(err)
	}
	e := connectEnv(t, ha, hc, lossyHA{hc}, Config{})
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.garage"}),
		"connection to Home Assistant was lost", "may or may not have run")
	wantOK(t, e.call(t, "call_service", map[string]any{"domain": "switch", "service": "turn_on", "entity_id": "switch.coffee_machine"}))
}

func TestLargeHomeAnswersAreBounded(t *testing.T) {
	const n = 10000
	e := startEnv(t, Config{}, simhome.Options{Home: simhome.LargeHome(n)})
	for _, args := range []map[string]any{{}, {"limit": 1000}, {"domain": "sensor", "limit": 1000}, {"search": "0", "limit": 1000, "offset": 10}} {
		res := e.call(t, "get_entities", args)
		var out getEntitiesOut
		decodeOut(t, res, &out)
		size := len(textOf(res)) + jsonSize(res.StructuredContent)
		if size > 2*DefaultMaxAnswerBytes {
			t.Errorf("get_entities(%v): %d bytes", args, size)
		}
		if out.Total <= out.Count || out.NextOffset != out.Offset+out.Count {
			t.Errorf("get_entities(%v): total %d count %d next %d; want a next page", args, out.Total, out.Count, out.NextOffset)
		}
	}
	var all getEntitiesOut
	decodeOut(t, e.call(t, "get_entities", map[string]any{}), &all)
	if all.Total != n || all.Count != DefaultLimit {
		t.Errorf("total %d count %d; want %d and %d", all.Total, all.Count, n, DefaultLimit)
	}
	var areas listAreasOut
	decodeOut(t, e.call(t, "list_areas", map[string]any{}), &areas)
	if len(areas.Areas) != 20 || areas.Areas[0].Entities != n/20 {
		t.Errorf("areas %d, first with %d entities", len(areas.Areas), areas.Areas[0].Entities)
	}
}

// TestNewServerWithoutIndex serves the tools without Tools.Run: every call
// reads Home Assistant afresh, and writes are still seen by reads.
func TestNewServerWithoutIndex(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{BlockedEntities: []string{"light.garage"}}, hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cs.Close(); _ = ss.Wait() }()
	e := &testEnv{ha: ha, client: hc, cs: cs}
	wantOK(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.bedroom_lamp"}))
	if got := stateOf(t, e, "light.bedroom_lamp"); got != "on" {
		t.Errorf("state after turn_on %q; want on", got)
	}
	if got := stateOf(t, e, "light.garage"); !strings.Contains(got, "unknown entity") {
		t.Errorf("blocked light: %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{AllowedDomains: []string{"light["}},
		{BlockedEntities: []string{" "}},
		{ConfirmServices: []string{"lock.[unlock"}},
		{MaxAnswerBytes: 100},
		{DefaultLimit: 50, MaxLimit: 10},
		{Timeout: -1},
		{GCHeadroom: -1, ReleaseMemory: true},
		{GCHeadroom: 1 << 20}, // without ReleaseMemory
	} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("Validate(%+v) = %v; want ErrConfig", c, err)
		}
		if _, err := New(c, nil); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
	if err := (Config{AllowedDomains: []string{"input_*"}, ConfirmServices: []string{}}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestSmallAnswerCap runs the typical session with the smallest cap: every
// answer fits, by paging or shortening, rather than failing.
func TestSmallAnswerCap(t *testing.T) {
	const limit = 4096
	e := startEnv(t, Config{MaxAnswerBytes: limit}, simhome.Options{})
	for _, c := range goldenCalls {
		res := e.call(t, c.tool, c.args)
		if res.IsError && strings.Contains(textOf(res), "too large") {
			t.Errorf("%s(%v): %s", c.tool, c.args, textOf(res))
		}
		if n := len(textOf(res)); n > limit {
			t.Errorf("%s(%v): text of %d bytes", c.tool, c.args, n)
		}
		if n := jsonSize(res.StructuredContent); n > limit+limit/4 {
			t.Errorf("%s(%v): structured content of %d bytes", c.tool, c.args, n)
		}
	}
	var all getServicesOut
	decodeOut(t, e.call(t, "get_services", map[string]any{}), &all)
	if all.Note == "" {
		t.Errorf("get_services fit %d domains in %d bytes without a note", len(all.Domains), limit)
	}
}

// TestViewReadsAtOnceWhenFresh: once every event the subscriptions
// delivered is applied, a view reads the home at once, without a round
// trip to Run's goroutine (which a view with a done context could not
// make); while an event is delivered but not yet applied, the index is
// not fresh, and a view goes through Run, which applies it first.
func TestViewReadsAtOnceWhenFresh(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	ix := e.tools.ix
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ix.warm(ctx); err != nil {
		t.Fatal(err)
	}
	isFresh := func() bool {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		return ix.fresh()
	}
	eventually(t, "the index to be fresh", isFresh)
	done, stop := context.WithCancel(ctx)
	stop()
	for i := range 100 {
		if err := ix.view(done, func(*home) error { return nil }); err != nil {
			t.Fatalf("view %d with a done context on a fresh index: %v", i, err)
		}
	}

	stateIn := func(h *home) string {
		en, err := e.tools.lookup(h, "light.garage")
		if err != nil {
			return err.Error()
		}
		return en.st.State
	}
	// Hold Run in onState: it takes the event and waits for the lock.
	ix.mu.Lock()
	delivered := ix.subs[0].Delivered()
	e.ha.SetState("light.garage", "on", nil)
	eventually(t, "the event to be delivered and taken", func() bool {
		return ix.subs[0].Delivered() > delivered && len(ix.subs[0].Events()) == 0
	})
	if ix.fresh() {
		t.Error("fresh with an event delivered but not applied")
	}
	got := make(chan string, 1)
	go func() {
		var s string
		if err := ix.view(ctx, func(h *home) error { s = stateIn(h); return nil }); err != nil {
			s = err.Error()
		}
		got <- s
	}()
	time.Sleep(20 * time.Millisecond) // let the view wait for the lock too
	ix.mu.Unlock()
	if s := <-got; s != "on" {
		t.Errorf("view during the event read %q, want on", s)
	}
	eventually(t, "the index to be fresh again", isFresh)
}
