package tools

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var allTools = []string{"call_service", "create_automation", "get_entities", "get_entity_state", "get_history",
	"get_services", "list_areas", "list_automations", "render_template", "toggle_automation"}

var writeTools = []string{"call_service", "create_automation", "toggle_automation"}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// checkToolList checks every listed tool's description, schemas and hints.
func checkToolList(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	for _, tool := range res.Tools {
		in, _ := tool.InputSchema.(map[string]any)
		out, _ := tool.OutputSchema.(map[string]any)
		a := tool.Annotations
		switch {
		case len(tool.Description) < 80:
			t.Errorf("%s: description %q is too short for a model", tool.Name, tool.Description)
		case in["type"] != "object" || in["additionalProperties"] != false:
			t.Errorf("%s: input schema %v is not a closed object", tool.Name, in)
		case out["type"] != "object":
			t.Errorf("%s: output schema %v is not an object", tool.Name, out)
		case a == nil || a.OpenWorldHint == nil || *a.OpenWorldHint || a.Title == "":
			t.Errorf("%s: annotations %+v need a title and openWorldHint false", tool.Name, a)
		case slices.Contains(writeTools, tool.Name) && (a.ReadOnlyHint || a.DestructiveHint == nil):
			t.Errorf("%s: a write tool needs readOnlyHint false and an explicit destructiveHint: %+v", tool.Name, a)
		case !slices.Contains(writeTools, tool.Name) && (!a.ReadOnlyHint || !a.IdempotentHint):
			t.Errorf("%s: a read tool needs readOnlyHint and idempotentHint: %+v", tool.Name, a)
		}
		props, _ := in["properties"].(map[string]any)
		for name, p := range props {
			pm, _ := p.(map[string]any)
			if pm["description"] == nil {
				t.Errorf("%s: argument %s has no description", tool.Name, name)
			}
			if pm["type"] == nil && pm["anyOf"] == nil {
				t.Errorf("%s: argument %s has no type", tool.Name, name)
			}
		}
	}
}

func TestToolList(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	if diff := cmp.Diff(allTools, toolNames(t, e.cs)); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}
	checkToolList(t, e.cs)
}

func TestGetEntities(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	tests := []struct {
		name  string
		args  map[string]any
		want  []string // entity ids, in order
		total int
	}{
		{"lights that are on", map[string]any{"domain": "light", "state": "on"},
			[]string{"light.kitchen_counter", "light.living_room_ceiling", "light.office_desk"}, 3},
		{"area by name", map[string]any{"area": "kitchen", "domain": "light"}, []string{"light.kitchen_counter", "light.kitchen_spots"}, 2},
		{"area by alias", map[string]any{"area": "Lounge", "domain": "cover"}, []string{"cover.living_room_blinds"}, 1},
		{"area via device", map[string]any{"area": "garage", "domain": "cover"}, []string{"cover.garage_door"}, 1},
		{"search words", map[string]any{"search": "Bedroom temp"}, []string{"sensor.bedroom_temperature"}, 1},
		{"device class", map[string]any{"device_class": "temperature", "area": "living_room"}, []string{"sensor.living_room_temperature"}, 1},
		{"paging", map[string]any{"domain": "light", "limit": 2, "offset": 2}, []string{"light.garden_path", "light.kitchen_counter"}, 8},
		{"offset past the end", map[string]any{"domain": "light", "offset": 50}, []string{}, 8},
		{"no match", map[string]any{"domain": "vacuum"}, []string{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out getEntitiesOut
			decodeOut(t, e.call(t, "get_entities", tc.args), &out)
			if diff := cmp.Diff(tc.want, entityIDsOfRows(out.Entities)); diff != "" {
				t.Errorf("entities (-want +got):\n%s", diff)
			}
			if out.Total != tc.total || out.Count != len(out.Entities) {
				t.Errorf("total %d count %d; want total %d count %d", out.Total, out.Count, tc.total, len(out.Entities))
			}
		})
	}
	t.Run("compact attributes", func(t *testing.T) {
		var out getEntitiesOut
		decodeOut(t, e.call(t, "get_entities", map[string]any{"search": "living room", "domain": "climate"}), &out)
		want := map[string]any{"current_temperature": 21.4, "temperature": 21.5, "hvac_action": "heating", "preset_mode": "comfort"}
		if diff := cmp.Diff(want, out.Entities[0].Attributes); diff != "" {
			t.Errorf("climate attributes (-want +got):\n%s", diff)
		}
	})
	t.Run("next offset", func(t *testing.T) {
		var out getEntitiesOut
		res := e.call(t, "get_entities", map[string]any{"domain": "light", "limit": 3})
		decodeOut(t, res, &out)
		if out.NextOffset != 3 || !strings.Contains(textOf(res), "offset=3") {
			t.Errorf("next_offset %d, text %q; want 3 and a hint", out.NextOffset, textOf(res))
		}
	})
	bad := []struct {
		args      map[string]any
		fragments []string
	}{
		{map[string]any{"limit": "x"}, []string{`"limit"`, "integer from 1 to 1000"}},
		{map[string]any{"limit": 0}, []string{`"limit"`}},
		{map[string]any{"limit": 5000}, []string{`"limit"`}},
		{map[string]any{"offset": -1}, []string{`"offset"`}},
		{map[string]any{"colour": "red"}, []string{`unknown argument "colour"`, "domain, area"}},
		{map[string]any{"area": "attic"}, []string{`"area"`, `no area "attic"`, "Kitchen (kitchen)"}},
		{map[string]any{"domain": "Light!"}, []string{`"domain"`}},
		{map[string]any{"domain": 3}, []string{`"domain"`, "got 3"}},
	}
	for _, tc := range bad {
		t.Run("bad "+fmtArgs(tc.args), func(t *testing.T) {
			wantError(t, e.call(t, "get_entities", tc.args), tc.fragments...)
		})
	}
}

func TestGetEntityState(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	var out entityStateOut
	res := e.call(t, "get_entity_state", map[string]any{"entity_id": "light.living_room_ceiling"})
	decodeOut(t, res, &out)
	if out.State != "on" || out.Area != "Living Room" || out.Device != "Living Room Ceiling" || out.Attributes["brightness"] != 180.0 {
		t.Errorf("got %+v", out)
	}
	if out.LastChanged.IsZero() || out.LastUpdated.IsZero() {
		t.Errorf("timestamps missing: %+v", out)
	}
	wantError(t, e.call(t, "get_entity_state", map[string]any{"entity_id": "light.living_room_ceilin"}),
		`unknown entity "light.living_room_ceilin"`, "did you mean light.living_room_ceiling")
	wantError(t, e.call(t, "get_entity_state", map[string]any{"entity_id": "kitchen"}), `"entity_id"`, "light.kitchen")
	wantError(t, e.call(t, "get_entity_state", map[string]any{}), `"entity_id"`, "is required")
	wantError(t, e.call(t, "get_entity_state", map[string]any{"entity_id": []any{"light.a"}}), `"entity_id"`)
}

func TestCallServiceThenRead(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	var out callServiceOut
	decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_on",
		"entity_id": "light.kitchen_spots", "data": map[string]any{"brightness_pct": 40}}), &out)
	want := []changedRow{{EntityID: "light.kitchen_spots", Name: "Kitchen Spots", OldState: "off", State: "on", Area: "Kitchen",
		Attributes: map[string]any{"brightness_pct": 40.0, "color_mode": "color_temp"}}}
	if diff := cmp.Diff(want, out.Changed); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	// The following read sees the write, with no waiting.
	var st entityStateOut
	decodeOut(t, e.call(t, "get_entity_state", map[string]any{"entity_id": "light.kitchen_spots"}), &st)
	if st.State != "on" {
		t.Errorf("after turn_on, state %q; want on", st.State)
	}
	var list getEntitiesOut
	decodeOut(t, e.call(t, "get_entities", map[string]any{"domain": "light", "area": "kitchen", "state": "on"}), &list)
	if !slices.Contains(entityIDsOfRows(list.Entities), "light.kitchen_spots") {
		t.Errorf("get_entities after turn_on: %v", entityIDsOfRows(list.Entities))
	}
}

func TestCallService(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	t.Run("area target", func(t *testing.T) {
		var out callServiceOut
		decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_off", "target": map[string]any{"area_id": "Kitchen"}}), &out)
		if diff := cmp.Diff([]string{"light.kitchen_counter", "light.kitchen_spots"}, out.Targets); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		calls := e.ha.ServiceCalls()
		last := calls[len(calls)-1]
		if diff := cmp.Diff(map[string]any{"area_id": []any{"kitchen"}}, last.Target); diff != "" {
			t.Errorf("target sent to Home Assistant (-want +got):\n%s", diff)
		}
	})
	t.Run("entity id list and data target keys", func(t *testing.T) {
		var out callServiceOut
		decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "switch", "service": "toggle",
			"data": map[string]any{"entity_id": []any{"switch.coffee_machine", "switch.office_monitor"}}}), &out)
		if len(out.Changed) != 2 {
			t.Errorf("changed %+v; want two switches", out.Changed)
		}
	})
	t.Run("return response", func(t *testing.T) {
		var out callServiceOut
		decodeOut(t, e.call(t, "call_service", map[string]any{"domain": "weather", "service": "get_forecasts",
			"entity_id": "weather.home", "data": map[string]any{"type": "daily"}, "return_response": true}), &out)
		if m, ok := out.Response.(map[string]any); !ok || m["weather.home"] == nil {
			t.Errorf("response %v; want forecasts of weather.home", out.Response)
		}
	})
	t.Run("no change", func(t *testing.T) {
		res := e.call(t, "call_service", map[string]any{"domain": "lock", "service": "lock", "entity_id": "lock.front_door"})
		if !strings.Contains(wantOK(t, res), "No state changed") {
			t.Errorf("text %q", textOf(res))
		}
	})
	e.ha.FailService("switch", "turn_on", "Device did not respond")
	bad := []struct {
		args      map[string]any
		fragments []string
	}{
		{map[string]any{"domain": "light", "service": "explode", "entity_id": "light.garage"}, []string{"Service light.explode not found"}},
		{map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.garage", "data": map[string]any{"brightness_pct": 400}}, []string{"Home Assistant error", "brightness_pct"}},
		{map[string]any{"domain": "switch", "service": "turn_on", "entity_id": "switch.coffee_machine"}, []string{"Device did not respond"}},
		{map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.nowhere"}, []string{`unknown entity "light.nowhere"`}},
		{map[string]any{"domain": "light", "service": "turn_on", "entity_id": "nowhere"}, []string{`"entity_id"`, "not an entity id"}},
		{map[string]any{"domain": "light", "service": "turn_on", "entity_id": 7}, []string{`"entity_id"`, "light.kitchen"}},
		{map[string]any{"domain": "light", "service": "turn_on", "target": map[string]any{"room": "kitchen"}}, []string{`"target"`, `unknown key "room"`, "area_id"}},
		{map[string]any{"domain": "light", "service": "turn_on", "target": map[string]any{"area_id": "attic"}}, []string{`area_id "attic" is not an area`}},
		{map[string]any{"domain": "Light", "service": "turn on"}, []string{`"service"`}},
		{map[string]any{"service": "turn_on"}, []string{`"domain"`, "is required"}},
		{map[string]any{"domain": "light", "service": "turn_on", "data": "bright"}, []string{`"data"`, "JSON object"}},
	}
	for _, tc := range bad {
		t.Run("bad "+fmtArgs(tc.args), func(t *testing.T) {
			wantError(t, e.call(t, "call_service", tc.args), tc.fragments...)
		})
	}
}

func TestGetServices(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	var all getServicesOut
	decodeOut(t, e.call(t, "get_services", map[string]any{}), &all)
	var light *domainServices
	for i := range all.Domains {
		if all.Domains[i].Domain == "light" {
			light = &all.Domains[i]
		}
	}
	if light == nil || !slices.Contains(light.Services, "turn_on") {
		t.Fatalf("domains %+v lack light.turn_on", all.Domains)
	}
	var one getServicesOut
	res := e.call(t, "get_services", map[string]any{"domain": "light", "service": "turn_on"})
	decodeOut(t, res, &one)
	if len(one.Services) != 1 || !one.Services[0].Target || !slices.ContainsFunc(one.Services[0].Fields, func(f serviceField) bool { return f.Name == "brightness_pct" }) {
		t.Errorf("light.turn_on: %+v", one.Services)
	}
	if !strings.Contains(textOf(res), "brightness_pct") {
		t.Errorf("text %q lacks brightness_pct", textOf(res))
	}
	wantError(t, e.call(t, "get_services", map[string]any{"domain": "teleport"}), `no services in domain "teleport"`)
	wantError(t, e.call(t, "get_services", map[string]any{"service": "turn_on"}), `"service"`, "needs domain")
	wantError(t, e.call(t, "get_services", map[string]any{"domain": "light", "service": "dance"}), `has no service "dance"`, "turn_on")
}

func TestListAreasAndTemplate(t *testing.T) {
	e := startEnv(t, Config{}, simhome.Options{})
	var areas listAreasOut
	decodeOut(t, e.call(t, "list_areas", map[string]any{}), &areas)
	if len(areas.Floors) != 2 || len(areas.Areas) != 6 {
		t.Fatalf("floors %d areas %d; want 2 and 6", len(areas.Floors), len(areas.Areas))
	}
	for _, a := range areas.Areas {
		if a.AreaID == "kitchen" && a.Domains["light"] != 2 {
			t.Errorf("kitchen lights %d; want 2 (%+v)", a.Domains["light"], a)
		}
	}
	wantError(t, e.call(t, "list_areas", map[string]any{"floor": "x"}), `unknown argument "floor"`)

	res := e.call(t, "render_template", map[string]any{"template": "{{ states.sensor.kitchen_temperature.state }}"})
	if got := wantOK(t, res); got != "22.8" {
		t.Errorf("template rendered %q; want 22.8", got)
	}
	wantError(t, e.call(t, "render_template", map[string]any{"template": "{{ states.sun.sun.state "}), "Home Assistant error (template_error)")
	wantError(t, e.call(t, "render_template", map[string]any{"template": " "}), `"template"`, "is empty")
}
