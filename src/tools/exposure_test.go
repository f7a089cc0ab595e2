package tools

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestReadOnlyHidesWrites(t *testing.T) {
	e := startEnv(t, Config{ReadOnly: true}, simhome.Options{})
	want := []string{"get_entities", "get_entity_state", "get_history", "get_services", "list_areas", "list_automations", "render_template"}
	if diff := cmp.Diff(want, toolNames(t, e.cs)); diff != "" {
		t.Errorf("read-only tools (-want +got):\n%s", diff)
	}
	checkToolList(t, e.cs)
}

func TestBlockedEntitiesNeverAppear(t *testing.T) {
	e := startEnv(t, Config{BlockedEntities: []string{"lock.*", "sensor.kitchen_*", "light.garage"}}, simhome.Options{})
	hidden := func(id string) bool {
		return strings.HasPrefix(id, "lock.") || strings.HasPrefix(id, "sensor.kitchen_") || id == "light.garage"
	}
	if slices.Contains(toolNames(t, e.cs), "render_template") {
		t.Error("render_template is listed although some entities are hidden")
	}
	var all getEntitiesOut
	decodeOut(t, e.call(t, "get_entities", map[string]any{"limit": 1000}), &all)
	for _, id := range entityIDsOfRows(all.Entities) {
		if hidden(id) {
			t.Errorf("get_entities shows hidden %s", id)
		}
	}
	if all.Total != len(all.Entities) || all.Total == 0 {
		t.Errorf("total %d for %d rows", all.Total, len(all.Entities))
	}
	var areas listAreasOut
	decodeOut(t, e.call(t, "list_areas", map[string]any{}), &areas)
	for _, a := range areas.Areas {
		if a.AreaID == "kitchen" && a.Domains["sensor"] != 0 {
			t.Errorf("kitchen counts hidden sensors: %+v", a)
		}
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_entity_state", map[string]any{"entity_id": "lock.front_door"}},
		{"get_history", map[string]any{"entity_id": []any{"light.office_desk", "sensor.kitchen_temperature"}}},
		{"call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.front_door", "confirm": true}},
		{"call_service", map[string]any{"domain": "light", "service": "turn_on", "target": map[string]any{"entity_id": "light.garage"}}},
		{"create_automation", map[string]any{"config": map[string]any{"alias": "x", "triggers": []any{map[string]any{"trigger": "state", "entity_id": "sensor.kitchen_humidity"}},
			"actions": []any{map[string]any{"action": "light.turn_on", "target": map[string]any{"entity_id": "light.office_desk"}}}}}},
	} {
		res := e.call(t, c.tool, c.args)
		wantError(t, res, "unknown entity")
		if strings.Contains(textOf(res), "did you mean lock.") || strings.Contains(textOf(res), "sensor.kitchen_h") && c.tool != "create_automation" {
			t.Errorf("%s error suggests a hidden entity: %s", c.tool, textOf(res))
		}
	}
	// An area target reaches only the visible entities of the area.
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "target": map[string]any{"area_id": "garage"}}),
		"the target reaches no exposed light entities")
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "homeassistant", "service": "turn_on", "target": map[string]any{"area_id": "garden"}}), &out)
	calls := e.ha.ServiceCalls()
	sent, _ := json.Marshal(calls[len(calls)-1].Target)
	if strings.Contains(string(sent), "lock.") || strings.Contains(string(sent), "area_id") {
		t.Errorf("area target sent as %s; want explicit visible entities", sent)
	}
	for _, c := range out.Changed {
		if hidden(c.EntityID) {
			t.Errorf("call_service reports hidden %s", c.EntityID)
		}
	}
	e.ha.SetState("sensor.kitchen_temperature", "30.0", nil)
	decodeOut(t, e.call(t, "get_entities", map[string]any{"search": "kitchen"}), &all)
	if slices.ContainsFunc(entityIDsOfRows(all.Entities), hidden) {
		t.Errorf("hidden entity after a state change: %v", entityIDsOfRows(all.Entities))
	}
}

func TestGarageRule(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "cover", "service": "open_cover", "entity_id": "cover.garage_door"}),
		"needs confirmation", "cover.garage_door", "\"confirm\": true")
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "homeassistant", "service": "toggle", "target": map[string]any{"area_id": "garage"}}),
		"needs confirmation")
	wantError(t, e.call(t, "create_automation", map[string]any{"config": map[string]any{"alias": "Open garage at 7",
		"triggers": []any{map[string]any{"trigger": "time", "at": "07:00:00"}},
		"actions":  []any{map[string]any{"action": "cover.open_cover", "target": map[string]any{"entity_id": "cover.garage_door"}}}}}), "needs confirmation")
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "cover", "service": "open_cover", "entity_id": "cover.garage_door", "confirm": true}), &out)
	if len(out.Changed) != 1 || out.Changed[0].State != "open" {
		t.Errorf("confirmed garage opening: %+v", out.Changed)
	}
	// Other covers need no confirmation.
	wantOK(t, e.call(t, "call_service", map[string]any{"domain": "cover", "service": "close_cover", "entity_id": "cover.living_room_blinds"}))
}

func TestConfirmServices(t *testing.T) {
	e := startEnv(t, Config{ConfirmServices: []string{"lock.unlock", "switch.*"}}, simhome.Options{})
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.front_door"}),
		"lock.unlock needs confirmation")
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "switch", "service": "turn_on", "entity_id": "switch.coffee_machine"}),
		"switch.turn_on needs confirmation")
	wantError(t, e.call(t, "create_automation", map[string]any{"config": "alias: x\ntriggers: [{trigger: time, at: '07:00:00'}]\nactions: [{action: lock.unlock, target: {entity_id: lock.front_door}}]"}),
		"would call lock.unlock", "needs confirmation")
	if n := len(e.ha.ServiceCalls()); n != 0 {
		t.Errorf("%d service calls reached Home Assistant; want none", n)
	}
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.front_door", "confirm": true}), &out)
	if len(out.Changed) != 1 || out.Changed[0].State != "unlocked" {
		t.Errorf("confirmed unlock: %+v", out.Changed)
	}
	// Alarms are not in this list: disarming needs no confirmation here.
	wantOK(t, e.call(t, "call_service", map[string]any{"domain": "alarm_control_panel", "service": "alarm_arm_away", "entity_id": "alarm_control_panel.home_alarm",
		"data": map[string]any{"code": simhome.DemoAlarmCode}}))
}

func TestDefaultConfirmServices(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	for _, c := range []map[string]any{
		{"domain": "lock", "service": "unlock", "entity_id": "lock.garden_gate"},
		{"domain": "lock", "service": "open", "entity_id": "lock.garden_gate"},
		{"domain": "alarm_control_panel", "service": "alarm_disarm", "entity_id": "alarm_control_panel.home_alarm"},
		{"domain": "homeassistant", "service": "restart"},
	} {
		wantError(t, e.call(t, "call_service", c), "needs confirmation")
	}
}

func TestAllowedDomains(t *testing.T) {
	e := startEnv(t, Config{AllowedDomains: []string{"light", "sensor", "input_*"}}, simhome.Options{})
	names := toolNames(t, e.cs)
	if slices.Contains(names, "list_automations") || slices.Contains(names, "render_template") {
		t.Errorf("tools %v; automation tools and render_template should be hidden", names)
	}
	var all getEntitiesOut
	decodeOut(t, e.call(t, "get_entities", map[string]any{"limit": 1000}), &all)
	for _, id := range entityIDsOfRows(all.Entities) {
		d, _, _ := strings.Cut(id, ".")
		if d != "light" && d != "sensor" && !strings.HasPrefix(d, "input_") {
			t.Errorf("get_entities shows %s", id)
		}
	}
	var svc getServicesOut
	decodeOut(t, e.call(t, "get_services", map[string]any{}), &svc)
	for _, d := range svc.Domains {
		if d.Domain != "light" && !strings.HasPrefix(d.Domain, "input_") && d.Domain != "homeassistant" && d.Domain != "sensor" {
			t.Errorf("get_services shows domain %s", d.Domain)
		}
	}
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "switch", "service": "turn_on", "entity_id": "switch.coffee_machine"}), "switch domain is not exposed")
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "notify", "service": "send_message", "data": map[string]any{"message": "hi"}}), "notify domain is not exposed")
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "homeassistant", "service": "turn_off", "target": map[string]any{"area_id": "office"}}), &out)
	if diff := cmp.Diff([]string{"light.office_desk"}, out.Targets); diff != "" {
		t.Errorf("homeassistant.turn_off in the office reached (-want +got):\n%s", diff)
	}
	wantError(t, e.call(t, "call_service", map[string]any{"domain": "homeassistant", "service": "reload_all"}), "homeassistant domain is not exposed")
}

func TestHiddenEntitiesScrubbedFromAttributes(t *testing.T) {
	e := startEnv(t, Config{BlockedEntities: []string{"light.living_room_floor_lamp"}}, simhome.Options{})
	var st entityStateOut
	decodeOut(t, e.call(t, "get_entity_state", map[string]any{"entity_id": "scene.movie_night"}), &st)
	want := []any{"light.living_room_ceiling", "cover.living_room_blinds"}
	if diff := cmp.Diff(want, st.Attributes["entity_id"]); diff != "" {
		t.Errorf("scene members (-want +got):\n%s", diff)
	}
}
