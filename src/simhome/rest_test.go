package simhome_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

func TestRESTUnauthorized(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	for _, token := range []string{"", "Bearer wrong", s.Token()} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.RESTURL()+"/states", nil)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", token, resp.StatusCode)
		}
	}
}

func TestRESTBasics(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	code, body := httpDo(t, s, "GET", "/", "")
	if code != 200 || string(body) != `{"message":"API running."}` {
		t.Errorf("GET /api/ = %d %s", code, body)
	}
	code, body = httpDo(t, s, "GET", "/config", "")
	if code != 200 || decode[map[string]any](t, body)["location_name"] != "Home" {
		t.Errorf("GET /api/config = %d %s", code, body)
	}
	code, body = httpDo(t, s, "GET", "/states", "")
	if code != 200 || len(decode[[]any](t, body)) < 40 {
		t.Errorf("GET /api/states = %d with %d bytes", code, len(body))
	}
	code, body = httpDo(t, s, "GET", "/states/lock.front_door", "")
	if code != 200 || decode[map[string]any](t, body)["state"] != "locked" {
		t.Errorf("GET /api/states/lock.front_door = %d %s", code, body)
	}
	code, body = httpDo(t, s, "GET", "/states/lock.nope", "")
	if code != 404 || string(body) != `{"message":"Entity not found."}` {
		t.Errorf("GET missing state = %d %s", code, body)
	}
	code, body = httpDo(t, s, "GET", "/services", "")
	services := decode[[]map[string]any](t, body)
	if code != 200 || len(services) == 0 || services[0]["domain"] == nil || services[0]["services"] == nil {
		t.Errorf("GET /api/services = %d %s", code, body)
	}
}

func TestRESTPostState(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	code, body := httpDo(t, s, "POST", "/states/sensor.new_one", `{"state": "5", "attributes": {"unit_of_measurement": "W"}}`)
	if code != 201 || decode[map[string]any](t, body)["state"] != "5" {
		t.Errorf("create = %d %s", code, body)
	}
	code, _ = httpDo(t, s, "POST", "/states/sensor.new_one", `{"state": "6"}`)
	if code != 200 {
		t.Errorf("update = %d, want 200", code)
	}
	code, body = httpDo(t, s, "POST", "/states/sensor.new_one", `{"attributes": {}}`)
	if code != 400 || string(body) != `{"message":"No state specified."}` {
		t.Errorf("no state = %d %s", code, body)
	}
	code, body = httpDo(t, s, "POST", "/states/sensor.new_one", `{bad`)
	if code != 400 || string(body) != `{"message":"Invalid JSON specified."}` {
		t.Errorf("bad json = %d %s", code, body)
	}
}

func TestRESTCallService(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	code, body := httpDo(t, s, "POST", "/services/switch/turn_on", `{"entity_id": "switch.coffee_machine"}`)
	changed := decode[[]map[string]any](t, body)
	if code != 200 || len(changed) != 1 || changed[0]["entity_id"] != "switch.coffee_machine" || changed[0]["state"] != "on" {
		t.Errorf("call = %d %s, want the changed state", code, body)
	}
	code, body = httpDo(t, s, "POST", "/services/weather/get_forecasts?return_response", `{"entity_id": "weather.home", "type": "daily"}`)
	resp := decode[map[string]any](t, body)
	if code != 200 || resp["changed_states"] == nil || resp["service_response"].(map[string]any)["weather.home"] == nil {
		t.Errorf("return_response call = %d %s", code, body)
	}
	code, body = httpDo(t, s, "POST", "/services/weather/get_forecasts", `{"entity_id": "weather.home", "type": "daily"}`)
	if code != 400 || decode[map[string]any](t, body)["message"] != "Service call requires responses but caller did not ask for responses. Add ?return_response to query parameters." {
		t.Errorf("missing return_response = %d %s", code, body)
	}
	code, _ = httpDo(t, s, "POST", "/services/light/foo", `{}`)
	if code != 400 {
		t.Errorf("unknown service = %d, want 400", code)
	}
	s.FailService("switch", "turn_off", "boom")
	code, _ = httpDo(t, s, "POST", "/services/switch/turn_off", `{"entity_id": "switch.coffee_machine"}`)
	if code != 500 {
		t.Errorf("failing service = %d, want 500", code)
	}
}

func TestRESTTemplate(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	code, body := httpDo(t, s, "POST", "/template", `{"template": "{{ states('lock.front_door') }} {{ 1 + 1 }}"}`)
	if code != 200 || string(body) != "locked 2" {
		t.Errorf("template = %d %q", code, body)
	}
	code, body = httpDo(t, s, "POST", "/template", `{"template": "{{ nope() }}"}`)
	if code != 400 || string(body) != `{"message":"Error rendering template: UndefinedError: 'nope' is undefined"}` {
		t.Errorf("bad template = %d %s", code, body)
	}
}

func TestRESTHistory(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clock := now
	s := simhome.NewServer(t, simhome.Options{Now: func() time.Time { return clock }})
	clock = now.Add(time.Minute)
	s.SetState("sensor.power_consumption", "500", nil)
	clock = now.Add(2 * time.Minute)
	s.SetState("sensor.power_consumption", "500", map[string]any{"unit_of_measurement": "W", "friendly_name": "Power"}) // attributes only
	clock = now.Add(3 * time.Minute)
	s.SetState("sensor.power_consumption", "600", nil)
	clock = now.Add(time.Hour)

	start := url.PathEscape("2026-11-20T11:30:00+00:00")
	code, body := httpDo(t, s, "GET", "/history/period/"+start+"?filter_entity_id=sensor.power_consumption,lock.front_door&minimal_response&no_attributes", "")
	got := decode[[][]map[string]any](t, body)
	if code != 200 || len(got) != 2 {
		t.Fatalf("history = %d %s", code, body)
	}
	power := got[0]
	want := []map[string]any{
		{"entity_id": "sensor.power_consumption", "state": "431.7", "attributes": map[string]any{},
			"last_changed": "2026-11-20T12:00:00+00:00", "last_updated": "2026-11-20T12:00:00+00:00"},
		{"state": "500", "last_changed": "2026-11-20T12:01:00+00:00"},
		{"state": "600", "last_changed": "2026-11-20T12:03:00+00:00"},
	}
	if diff := cmp.Diff(want, power); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if lock := got[1]; len(lock) != 1 || lock[0]["state"] != "locked" {
		t.Errorf("lock history = %v, want its one state", lock)
	}
	code, body = httpDo(t, s, "GET", "/history/period/"+start+"?filter_entity_id=sensor.power_consumption&significant_changes_only=0", "")
	if full := decode[[][]map[string]any](t, body); code != 200 || len(full[0]) != 4 {
		t.Errorf("history with insignificant changes = %d %s, want 4 entries", code, body)
	}
	for _, tc := range []struct{ path, msg string }{
		{"/history/period", "filter_entity_id is missing"},
		{"/history/period/not-a-date?filter_entity_id=a.b", "Invalid datetime"},
		{"/history/period?filter_entity_id=bad", "Invalid filter_entity_id"},
		{"/history/period?filter_entity_id=a.b&end_time=x", "Invalid end_time"},
	} {
		code, body := httpDo(t, s, "GET", tc.path, "")
		if code != 400 || decode[map[string]any](t, body)["message"] != tc.msg {
			t.Errorf("GET %s = %d %s, want 400 %q", tc.path, code, body, tc.msg)
		}
	}
}

func TestRESTLogbook(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	s.SetState("lock.front_door", "unlocked", nil)
	code, body := httpDo(t, s, "GET", "/logbook?entity=lock.front_door", "")
	entries := decode[[]map[string]any](t, body)
	if code != 200 || len(entries) != 2 || entries[1]["state"] != "unlocked" || entries[1]["name"] != "Front Door" || entries[1]["when"] == nil {
		t.Errorf("logbook = %d %s", code, body)
	}
}

func TestRESTAutomationConfig(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	code, body := httpDo(t, s, "GET", "/config/automation/config/1700000000001", "")
	if code != 200 || decode[map[string]any](t, body)["alias"] != "Morning lights" {
		t.Errorf("GET config = %d %s", code, body)
	}
	code, body = httpDo(t, s, "GET", "/config/automation/config/nope", "")
	if code != 404 || string(body) != `{"message":"Resource not found"}` {
		t.Errorf("GET missing config = %d %s", code, body)
	}
	cfg := `{"alias": "Hall light on motion", "triggers": [{"trigger": "state", "entity_id": "binary_sensor.living_room_motion", "to": "on"}],
		"actions": [{"action": "light.turn_on", "target": {"entity_id": "light.living_room_floor_lamp"}}], "mode": "restart"}`
	code, body = httpDo(t, s, "POST", "/config/automation/config/42", cfg)
	if code != 200 || string(body) != `{"result":"ok"}` {
		t.Fatalf("POST config = %d %s", code, body)
	}
	st := state(t, s, "automation.hall_light_on_motion")
	want := map[string]any{"id": "42", "friendly_name": "Hall light on motion", "mode": "restart", "current": float64(0), "last_triggered": nil}
	if diff := cmp.Diff(want, st["attributes"]); diff != "" || st["state"] != "on" {
		t.Errorf("new automation entity (-want +got):\n%s", diff)
	}
	code, body = httpDo(t, s, "POST", "/config/automation/config/43", `{"alias": "x", "actions": []}`)
	if code != 400 || string(body) != `{"message":"Message malformed: required key not provided @ data['triggers']"}` {
		t.Errorf("invalid config = %d %s", code, body)
	}
	code, _ = httpDo(t, s, "DELETE", "/config/automation/config/42", "")
	if _, ok := s.State("automation.hall_light_on_motion"); code != 200 || ok {
		t.Errorf("DELETE = %d, entity still there: %v", code, ok)
	}
	code, _ = httpDo(t, s, "POST", "/services/automation/reload", "")
	if code != 200 {
		t.Errorf("automation.reload = %d", code)
	}
}
