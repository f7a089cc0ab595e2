package simhome_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// state decodes the fake's current state of an entity.
func state(t *testing.T, s *simhome.Server, id string) map[string]any {
	t.Helper()
	raw, ok := s.State(id)
	if !ok {
		t.Fatalf("no state for %s", id)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func callService(w *wsClient, domain, service string, data, target map[string]any) map[string]any {
	msg := map[string]any{"type": "call_service", "domain": domain, "service": service}
	if data != nil {
		msg["service_data"] = data
	}
	if target != nil {
		msg["target"] = target
	}
	return w.result(msg)
}

func TestCallServiceStateChangedEvent(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Now: fixedClock()})
	w := connect(t, s)
	subID := w.command(map[string]any{"type": "subscribe_events", "event_type": "state_changed"})
	mustSucceed(t, w.read())
	before := state(t, s, "light.kitchen_spots")

	res := callService(w, "light", "turn_on", map[string]any{"brightness_pct": 50, "color_temp_kelvin": 2700},
		map[string]any{"entity_id": "light.kitchen_spots"})
	result := mustSucceed(t, res).(map[string]any)
	ctx := result["context"].(map[string]any)
	if _, has := result["response"]; has {
		t.Errorf("result %v has a response without return_response", result)
	}
	if id, _ := ctx["id"].(string); len(id) != 26 || ctx["user_id"] == nil || ctx["parent_id"] != nil {
		t.Errorf("context = %v, want a 26-char ULID, a user id and a null parent_id", ctx)
	}

	ev := w.waitFor(func(m map[string]any) bool { return m["type"] == "event" })
	if ev["id"] != float64(subID) {
		t.Errorf("event id = %v, want %d", ev["id"], subID)
	}
	data := ev["event"].(map[string]any)["data"].(map[string]any)
	if diff := cmp.Diff(before, data["old_state"]); diff != "" {
		t.Errorf("old_state (-want +got):\n%s", diff)
	}
	ns := data["new_state"].(map[string]any)
	attrs := ns["attributes"].(map[string]any)
	if ns["state"] != "on" || attrs["brightness"] != float64(128) || attrs["color_temp_kelvin"] != float64(2700) || attrs["color_mode"] != "color_temp" {
		t.Errorf("new_state = %v, want on, brightness 128, 2700 K", ns)
	}
	if cmp.Diff(ctx, ns["context"]) != "" {
		t.Errorf("new_state context %v, want the call's %v", ns["context"], ctx)
	}
	if got := state(t, s, "light.kitchen_spots"); cmp.Diff(ns, got) != "" {
		t.Errorf("State() differs from the event's new_state: %s", cmp.Diff(ns, got))
	}
	if ns["last_changed"] != "2026-11-20T12:00:00+00:00" {
		t.Errorf("last_changed = %v, want Python's isoformat of the clock", ns["last_changed"])
	}
}

func TestStateShape(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Now: func() time.Time { return fixedClock()().Add(123456000) }})
	got := state(t, s, "sensor.kitchen_temperature")
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"attributes", "context", "entity_id", "last_changed", "last_reported", "last_updated", "state"}
	if !slices.Equal(keys, want) {
		t.Errorf("state keys = %v, want %v", keys, want)
	}
	if got["last_updated"] != "2026-11-20T12:00:00.123456+00:00" {
		t.Errorf("last_updated = %v, want microseconds and +00:00", got["last_updated"])
	}
	attrs := got["attributes"].(map[string]any)
	if attrs["unit_of_measurement"] != "°C" || attrs["device_class"] != "temperature" || attrs["friendly_name"] != "Kitchen Temperature" {
		t.Errorf("attributes = %v", attrs)
	}
}

func TestCallServiceErrors(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	tests := []struct {
		name    string
		domain  string
		service string
		data    map[string]any
		rr      bool
		want    map[string]any
	}{
		{"unknown service", "light", "foo", nil, false, map[string]any{"code": "not_found", "message": "Service light.foo not found.",
			"translation_key": "service_not_found", "translation_domain": "homeassistant",
			"translation_placeholders": map[string]any{"domain": "light", "service": "foo"}}},
		{"domain not loaded", "vacuum", "start", nil, false, map[string]any{"code": "not_found", "message": "Service vacuum.start not found.",
			"translation_key": "service_not_found", "translation_domain": "homeassistant",
			"translation_placeholders": map[string]any{"domain": "vacuum", "service": "start"}}},
		{"out of range", "light", "turn_on", map[string]any{"entity_id": "light.kitchen_spots", "brightness": 300}, false,
			map[string]any{"code": "invalid_format", "message": "value must be at most 255 for dictionary value @ data['brightness']"}},
		{"extra key", "switch", "turn_on", map[string]any{"entity_id": "switch.coffee_machine", "speed": 3}, false,
			map[string]any{"code": "invalid_format", "message": "extra keys not allowed @ data['speed']"}},
		{"missing field", "input_number", "set_value", map[string]any{"entity_id": "input_number.target_humidity"}, false,
			map[string]any{"code": "invalid_format", "message": "required key not provided @ data['value']"}},
		{"no responses", "light", "turn_on", map[string]any{"entity_id": "light.kitchen_spots"}, true,
			map[string]any{"code": "service_validation_error", "message": "Validation error: An action which does not return responses can't be called with return_response=True",
				"translation_key": "service_does_not_support_response", "translation_domain": "homeassistant"}},
		{"needs responses", "weather", "get_forecasts", map[string]any{"entity_id": "weather.home", "type": "daily"}, false,
			map[string]any{"code": "service_validation_error", "message": "Validation error: The action requires responses and must be called with return_response=True",
				"translation_key": "service_lacks_response_request", "translation_domain": "homeassistant"}},
		{"not supported", "lock", "open", map[string]any{"entity_id": "lock.garden_gate"}, false,
			map[string]any{"code": "service_validation_error", "message": "Validation error: Entity lock.garden_gate does not support action lock.open",
				"translation_key": "service_not_supported", "translation_domain": "homeassistant",
				"translation_placeholders": map[string]any{"entity_id": "lock.garden_gate", "domain": "lock", "service": "open"}}},
		{"temperature range", "climate", "set_temperature", map[string]any{"entity_id": "climate.living_room", "temperature": 40}, false,
			map[string]any{"code": "service_validation_error", "message": "Validation error: Provided temperature 40.0 is not valid. Accepted range is 7.0 to 30.0.",
				"translation_key": "temp_out_of_range", "translation_domain": "climate",
				"translation_placeholders": map[string]any{"check_temp": "40.0", "min_temp": "7.0", "max_temp": "30.0"}}},
		{"input_number range", "input_number", "set_value", map[string]any{"entity_id": "input_number.target_humidity", "value": 90}, false,
			map[string]any{"code": "invalid_format", "message": "Invalid value for input_number.target_humidity: 90.0 (range 30.0 - 70.0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := map[string]any{"type": "call_service", "domain": tt.domain, "service": tt.service}
			if tt.data != nil {
				msg["service_data"] = tt.data
			}
			if tt.rr {
				msg["return_response"] = true
			}
			got := w.result(msg)
			if got["success"] != false {
				t.Fatalf("got %v, want a failure", got)
			}
			if diff := cmp.Diff(tt.want, got["error"]); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	// Calls refused by the schema are not recorded; those refused by the
	// entity (after call_service fired) are.
	var got []string
	for _, c := range s.ServiceCalls() {
		got = append(got, c.Domain+"."+c.Service)
	}
	if want := []string{"lock.open", "climate.set_temperature", "input_number.set_value"}; !slices.Equal(got, want) {
		t.Errorf("ServiceCalls() = %v, want %v", got, want)
	}
}

func TestFailService(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	s.FailService("switch", "turn_on", "Device unreachable")
	got := callService(w, "switch", "turn_on", nil, map[string]any{"entity_id": "switch.coffee_machine"})
	want := map[string]any{"code": "home_assistant_error", "message": "Device unreachable"}
	if diff := cmp.Diff(want, got["error"]); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if st := state(t, s, "switch.coffee_machine"); st["state"] != "off" {
		t.Errorf("state = %v after a failed call, want off", st["state"])
	}
	s.ClearFailures()
	mustSucceed(t, callService(w, "switch", "turn_on", nil, map[string]any{"entity_id": "switch.coffee_machine"}))
	if st := state(t, s, "switch.coffee_machine"); st["state"] != "on" {
		t.Errorf("state = %v, want on", st["state"])
	}
	calls := s.ServiceCalls()
	if len(calls) != 2 || calls[0].Domain != "switch" || calls[0].Service != "turn_on" ||
		calls[1].Target["entity_id"] != "switch.coffee_machine" || calls[0].Time.IsZero() {
		t.Errorf("ServiceCalls() = %+v, want both calls recorded", calls)
	}
}

func TestServiceEffects(t *testing.T) {
	tests := []struct {
		name    string
		domain  string
		service string
		data    map[string]any
		target  map[string]any
		entity  string
		state   string
		attr    string
		attrVal any
	}{
		{"light off", "light", "turn_off", nil, map[string]any{"entity_id": "light.living_room_ceiling"}, "light.living_room_ceiling", "off", "brightness", nil},
		{"light toggle", "light", "toggle", nil, map[string]any{"entity_id": "light.bedroom_lamp"}, "light.bedroom_lamp", "on", "brightness", float64(255)},
		{"brightness 0 turns off", "light", "turn_on", map[string]any{"brightness": 0}, map[string]any{"entity_id": "light.office_desk"}, "light.office_desk", "off", "", nil},
		{"garage opens", "cover", "open_cover", nil, map[string]any{"entity_id": "cover.garage_door"}, "cover.garage_door", "open", "device_class", "garage"},
		{"blinds position", "cover", "set_cover_position", map[string]any{"position": 30}, map[string]any{"entity_id": "cover.living_room_blinds"}, "cover.living_room_blinds", "open", "current_position", float64(30)},
		{"lock unlock", "lock", "unlock", nil, map[string]any{"entity_id": "lock.front_door"}, "lock.front_door", "unlocked", "", nil},
		{"lock open", "lock", "open", nil, map[string]any{"entity_id": "lock.front_door"}, "lock.front_door", "open", "", nil},
		{"climate temperature", "climate", "set_temperature", map[string]any{"temperature": 22.5}, map[string]any{"entity_id": "climate.living_room"}, "climate.living_room", "heat", "temperature", 22.5},
		{"climate mode", "climate", "set_hvac_mode", map[string]any{"hvac_mode": "off"}, map[string]any{"entity_id": "climate.living_room"}, "climate.living_room", "off", "", nil},
		{"input_boolean", "input_boolean", "toggle", nil, map[string]any{"entity_id": "input_boolean.guest_mode"}, "input_boolean.guest_mode", "on", "", nil},
		{"input_number", "input_number", "set_value", map[string]any{"value": 55}, map[string]any{"entity_id": "input_number.target_humidity"}, "input_number.target_humidity", "55.0", "", nil},
		{"input_select", "input_select", "select_option", map[string]any{"option": "Night"}, map[string]any{"entity_id": "input_select.house_mode"}, "input_select.house_mode", "Night", "", nil},
		{"alarm arm away", "alarm_control_panel", "alarm_arm_away", map[string]any{"code": "1234"}, map[string]any{"entity_id": "alarm_control_panel.home_alarm"}, "alarm_control_panel.home_alarm", "armed_away", "", nil},
		{"media play", "media_player", "media_play", nil, map[string]any{"entity_id": "media_player.kitchen_speaker"}, "media_player.kitchen_speaker", "playing", "", nil},
		{"media volume", "media_player", "volume_set", map[string]any{"volume_level": 0.5}, map[string]any{"entity_id": "media_player.kitchen_speaker"}, "media_player.kitchen_speaker", "idle", "volume_level", 0.5},
		{"automation off", "automation", "turn_off", nil, map[string]any{"entity_id": "automation.morning_lights"}, "automation.morning_lights", "off", "", nil},
		{"fan speed", "fan", "set_percentage", map[string]any{"percentage": 66}, map[string]any{"entity_id": "fan.bedroom_fan"}, "fan.bedroom_fan", "on", "percentage", float64(66)},
		{"generic on", "homeassistant", "turn_on", nil, map[string]any{"entity_id": []any{"switch.garden_irrigation"}}, "switch.garden_irrigation", "on", "", nil},
		{"generic cover", "homeassistant", "turn_off", nil, map[string]any{"entity_id": "cover.living_room_blinds"}, "cover.living_room_blinds", "closed", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := simhome.NewServer(t, simhome.Options{})
			w := connect(t, s)
			mustSucceed(t, callService(w, tt.domain, tt.service, tt.data, tt.target))
			st := state(t, s, tt.entity)
			if st["state"] != tt.state {
				t.Errorf("state = %v, want %v", st["state"], tt.state)
			}
			if tt.attr != "" {
				if got := st["attributes"].(map[string]any)[tt.attr]; got != tt.attrVal {
					t.Errorf("%s = %v, want %v", tt.attr, got, tt.attrVal)
				}
			}
		})
	}
}

func TestAreaAndFloorTargets(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, callService(w, "light", "turn_on", nil, map[string]any{"area_id": "kitchen"}))
	for _, id := range []string{"light.kitchen_spots", "light.kitchen_counter"} {
		if st := state(t, s, id); st["state"] != "on" {
			t.Errorf("%s = %v after area turn_on, want on", id, st["state"])
		}
	}
	mustSucceed(t, callService(w, "light", "turn_off", nil, map[string]any{"floor_id": "first_floor"}))
	for _, id := range []string{"light.bedroom_lamp", "light.office_desk"} {
		if st := state(t, s, id); st["state"] != "off" {
			t.Errorf("%s = %v after floor turn_off, want off", id, st["state"])
		}
	}
	if st := state(t, s, "light.living_room_ceiling"); st["state"] != "on" {
		t.Errorf("ground floor light changed by a first floor call")
	}
	mustSucceed(t, callService(w, "lock", "unlock", nil, map[string]any{"device_id": homeDeviceID(t, w, "Front Door Lock")}))
	if st := state(t, s, "lock.front_door"); st["state"] != "unlocked" {
		t.Errorf("lock by device_id = %v, want unlocked", st["state"])
	}
}

// homeDeviceID finds a device id by name in the device registry.
func homeDeviceID(t *testing.T, w *wsClient, name string) string {
	t.Helper()
	for _, d := range mustSucceed(t, w.result(map[string]any{"type": "config/device_registry/list"})).([]any) {
		if d.(map[string]any)["name"] == name {
			return d.(map[string]any)["id"].(string)
		}
	}
	t.Fatalf("no device %q", name)
	return ""
}

func TestReturnResponse(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	res := mustSucceed(t, w.result(map[string]any{"type": "call_service", "domain": "weather", "service": "get_forecasts",
		"service_data": map[string]any{"type": "hourly"}, "target": map[string]any{"entity_id": "weather.home"}, "return_response": true}))
	resp := res.(map[string]any)["response"].(map[string]any)
	forecast := resp["weather.home"].(map[string]any)["forecast"].([]any)
	if len(forecast) == 0 || forecast[0].(map[string]any)["temperature"] == nil {
		t.Errorf("response = %v, want an hourly forecast for weather.home", resp)
	}
	res = mustSucceed(t, w.result(map[string]any{"type": "call_service", "domain": "script", "service": "good_night", "return_response": true}))
	if diff := cmp.Diff(map[string]any{}, res.(map[string]any)["response"]); diff != "" {
		t.Errorf("script response (-want +got):\n%s", diff)
	}
}

func TestCallServiceEvent(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "call_service"}))
	mustSucceed(t, callService(w, "switch", "turn_on", map[string]any{}, map[string]any{"entity_id": "switch.coffee_machine"}))
	ev := w.waitFor(func(m map[string]any) bool { return m["type"] == "event" })
	want := map[string]any{"domain": "switch", "service": "turn_on", "service_data": map[string]any{"entity_id": "switch.coffee_machine"}}
	if diff := cmp.Diff(want, ev["event"].(map[string]any)["data"]); diff != "" {
		t.Errorf("call_service event data (-want +got):\n%s", diff)
	}
}

func TestAutomationTriggerAndScript(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Now: fixedClock()})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "automation_triggered"}))
	mustSucceed(t, callService(w, "automation", "trigger", nil, map[string]any{"entity_id": "automation.morning_lights"}))
	ev := w.waitFor(func(m map[string]any) bool { return m["type"] == "event" })
	if ev["event"].(map[string]any)["data"].(map[string]any)["entity_id"] != "automation.morning_lights" {
		t.Errorf("automation_triggered = %v", ev)
	}
	if st := state(t, s, "automation.morning_lights"); st["attributes"].(map[string]any)["last_triggered"] != "2026-11-20T12:00:00+00:00" {
		t.Errorf("last_triggered = %v", st["attributes"])
	}
}

func TestSceneAppliesMembers(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Now: fixedClock()})
	w := connect(t, s)
	mustSucceed(t, callService(w, "scene", "turn_on", nil, map[string]any{"entity_id": "scene.movie_night"}))
	ceiling := state(t, s, "light.living_room_ceiling")
	if ceiling["state"] != "on" || ceiling["attributes"].(map[string]any)["brightness"] != float64(40) {
		t.Errorf("ceiling = %v, want on at 40", ceiling)
	}
	if st := state(t, s, "cover.living_room_blinds"); st["state"] != "closed" || st["attributes"].(map[string]any)["current_position"] != float64(0) {
		t.Errorf("blinds = %v, want closed at 0", st)
	}
	if st := state(t, s, "scene.movie_night"); st["state"] != "2026-11-20T12:00:00+00:00" {
		t.Errorf("scene state = %v, want the activation time", st["state"])
	}
}
