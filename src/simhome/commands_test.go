package simhome_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestRenderTemplateSubscription(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	id := w.command(map[string]any{"type": "render_template",
		"template": "{{ states('light.kitchen_spots') }} at {{ state_attr('light.kitchen_spots', 'brightness') }}"})
	if got := w.read(); got["id"] != float64(id) || got["type"] != "result" || got["success"] != true || got["result"] != nil {
		t.Fatalf("first answer = %v, want result null", got)
	}
	ev := w.read()
	want := map[string]any{"result": "off at None", "listeners": map[string]any{
		"all": false, "entities": []any{"light.kitchen_spots"}, "domains": []any{}, "time": false}}
	if diff := cmp.Diff(want, ev["event"]); diff != "" || ev["id"] != float64(id) {
		t.Fatalf("event (-want +got):\n%s", diff)
	}
	// A change of a listened entity renders again.
	s.SetState("light.kitchen_spots", "on", map[string]any{"brightness": 12})
	ev = w.read()
	if got := ev["event"].(map[string]any)["result"]; got != "on at 12" {
		t.Errorf("re-rendered result = %v, want %q", got, "on at 12")
	}
	if n := s.Subscriptions(); n != 1 {
		t.Errorf("Subscriptions() = %d, want the template subscription", n)
	}
	mustSucceed(t, w.result(map[string]any{"type": "unsubscribe_events", "subscription": id}))
	if n := s.Subscriptions(); n != 0 {
		t.Errorf("Subscriptions() = %d after unsubscribe, want 0", n)
	}
}

func TestRenderTemplateNativeResult(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	w.command(map[string]any{"type": "render_template", "template": "{{ x + 1 }}", "variables": map[string]any{"x": 41}})
	w.read()
	if got := w.read()["event"].(map[string]any)["result"]; got != float64(42) {
		t.Errorf("result = %#v, want the number 42", got)
	}
}

func TestRenderTemplateErrors(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	got := w.result(map[string]any{"type": "render_template", "template": "{{ my_unknown_func() + 1 }}"})
	wantErr := map[string]any{"code": "template_error", "message": "UndefinedError: 'my_unknown_func' is undefined"}
	if diff := cmp.Diff(wantErr, got["error"]); diff != "" {
		t.Errorf("error without report_errors (-want +got):\n%s", diff)
	}
	id := w.command(map[string]any{"type": "render_template", "template": "{{ my_unknown_func() + 1 }}", "report_errors": true})
	errEvent := map[string]any{"error": "UndefinedError: 'my_unknown_func' is undefined", "level": "ERROR"}
	for i, want := range []string{"event", "result", "event"} {
		m := w.read()
		if m["type"] != want || m["id"] != float64(id) {
			t.Fatalf("message %d = %v, want %s", i, m, want)
		}
		if want == "event" && cmp.Diff(errEvent, m["event"]) != "" {
			t.Errorf("error event = %v, want %v", m["event"], errEvent)
		}
	}
}

func TestRegistries(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	floors := mustSucceed(t, w.result(map[string]any{"type": "config/floor_registry/list"})).([]any)
	if len(floors) != 2 || floors[0].(map[string]any)["floor_id"] != "ground_floor" || floors[1].(map[string]any)["level"] != float64(1) {
		t.Errorf("floors = %v", floors)
	}
	areas := mustSucceed(t, w.result(map[string]any{"type": "config/area_registry/list"})).([]any)
	var areaIDs []string
	for _, a := range areas {
		am := a.(map[string]any)
		areaIDs = append(areaIDs, am["area_id"].(string))
		for _, k := range []string{"name", "floor_id", "aliases", "icon", "labels", "picture", "created_at", "modified_at"} {
			if _, ok := am[k]; !ok {
				t.Errorf("area %v lacks %q", am["area_id"], k)
			}
		}
	}
	for _, want := range []string{"living_room", "kitchen", "bedroom", "office", "garage", "garden"} {
		if !slices.Contains(areaIDs, want) {
			t.Errorf("area %s missing from %v", want, areaIDs)
		}
	}
	devices := mustSucceed(t, w.result(map[string]any{"type": "config/device_registry/list"})).([]any)
	d := devices[0].(map[string]any)
	for _, k := range []string{"id", "area_id", "name", "name_by_user", "manufacturer", "model", "config_entries", "identifiers", "via_device_id", "disabled_by"} {
		if _, ok := d[k]; !ok {
			t.Errorf("device lacks %q: %v", k, d)
		}
	}
	entities := mustSucceed(t, w.result(map[string]any{"type": "config/entity_registry/list"})).([]any)
	found := false
	for _, e := range entities {
		em := e.(map[string]any)
		if em["entity_id"] == "light.kitchen_spots" {
			found = true
			if em["device_id"] == nil || em["platform"] != "hue" || em["area_id"] != nil {
				t.Errorf("light.kitchen_spots entry = %v, want a device, platform hue, no own area", em)
			}
		}
	}
	if !found {
		t.Error("light.kitchen_spots missing from the entity registry")
	}
}

func TestValidateConfig(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	tests := []struct {
		key   string
		value any
		err   any
	}{
		{"triggers", map[string]any{"trigger": "state", "entity_id": "light.kitchen_spots", "to": "on"}, nil},
		{"triggers", map[string]any{"platform": "non_existing"}, "Invalid trigger 'non_existing' specified"},
		{"triggers", []any{map[string]any{"entity_id": "x.y"}}, "required key not provided @ data[0]['trigger']"},
		{"conditions", map[string]any{"condition": "state", "entity_id": "lock.front_door", "state": "locked"}, nil},
		{"conditions", map[string]any{"condition": "non_existing"},
			"Unexpected value for condition: 'non_existing'. Expected and, device, not, numeric_state, or, state, sun, template, time, trigger, zone"},
		{"actions", []any{map[string]any{"action": "light.turn_on", "target": map[string]any{"entity_id": "light.kitchen_spots"}}}, nil},
		{"actions", map[string]any{"non_existing": "bla"}, "Unable to determine action @ data[0]"},
		{"actions", map[string]any{"action": "not a service"}, "Service not a service does not match format <domain>.<name> for dictionary value @ data[0]['action']"},
	}
	for _, tt := range tests {
		got := mustSucceed(t, w.result(map[string]any{"type": "validate_config", tt.key: tt.value}))
		want := map[string]any{tt.key: map[string]any{"valid": tt.err == nil, "error": tt.err}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("validate %s %v (-want +got):\n%s", tt.key, tt.value, diff)
		}
	}
}

func TestGetConfigAndServices(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Version: "2026.3.1"})
	w := connect(t, s)
	cfg := mustSucceed(t, w.result(map[string]any{"type": "get_config"})).(map[string]any)
	if cfg["version"] != "2026.3.1" || cfg["location_name"] != "Home" || cfg["time_zone"] != "Europe/Paris" ||
		cfg["unit_system"].(map[string]any)["temperature"] != "°C" || cfg["state"] != "RUNNING" {
		t.Errorf("get_config = %v", cfg)
	}
	if comps := cfg["components"].([]any); !slices.Contains(comps, any("light")) || !slices.Contains(comps, any("websocket_api")) {
		t.Errorf("components = %v", comps)
	}
	services := mustSucceed(t, w.result(map[string]any{"type": "get_services"})).(map[string]any)
	turnOn := services["light"].(map[string]any)["turn_on"].(map[string]any)
	bri := turnOn["fields"].(map[string]any)["brightness"].(map[string]any)
	if turnOn["name"] == nil || bri["selector"].(map[string]any)["number"] == nil || bri["example"] == nil {
		t.Errorf("light.turn_on description = %v", turnOn)
	}
	if _, ok := services["script"].(map[string]any)["good_night"]; !ok {
		t.Error("script.good_night service missing")
	}
	if _, ok := services["vacuum"]; ok {
		t.Error("vacuum services listed without a vacuum entity")
	}
	resp := services["weather"].(map[string]any)["get_forecasts"].(map[string]any)["response"]
	if diff := cmp.Diff(map[string]any{"optional": false}, resp); diff != "" {
		t.Errorf("weather.get_forecasts response (-want +got):\n%s", diff)
	}
}

func TestGetStates(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Home: simhome.LargeHome(1000)})
	w := connect(t, s)
	states := mustSucceed(t, w.result(map[string]any{"type": "get_states"})).([]any)
	if len(states) != 1000 {
		t.Fatalf("get_states returned %d states, want 1000", len(states))
	}
	first := states[0].(map[string]any)
	if first["entity_id"] != "light.light_00000" {
		t.Errorf("first state = %v, want the insertion order of the house", first["entity_id"])
	}
}

func TestFireEventCommand(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "my_event"}))
	mustSucceed(t, w.result(map[string]any{"type": "fire_event", "event_type": "my_event", "event_data": map[string]any{"k": "v"}}))
	ev := w.waitFor(func(m map[string]any) bool { return m["type"] == "event" })
	if diff := cmp.Diff(map[string]any{"k": "v"}, ev["event"].(map[string]any)["data"]); diff != "" {
		t.Errorf("event data (-want +got):\n%s", diff)
	}
	s.FireEvent("my_event", map[string]any{"n": 1})
	ev = w.read()
	if ev["event"].(map[string]any)["data"].(map[string]any)["n"] != float64(1) {
		t.Errorf("FireEvent event = %v", ev)
	}
}
