package tools

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// steppingClock is a fake clock for the fake home: each reading is a
// second after the previous one, so that states have distinct times.
type steppingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func TestGetHistory(t *testing.T) {
	clock := &steppingClock{now: fixedNow.Add(-time.Hour)}
	e := startEnv(t, Config{Now: func() time.Time { return fixedNow }}, simhome.Options{Now: clock.Now})
	for _, v := range []string{"21.0", "21.5", "22.0"} {
		e.ha.SetState("sensor.kitchen_temperature", v, nil)
	}
	var out getHistoryOut
	res := e.call(t, "get_history", map[string]any{"entity_id": "sensor.kitchen_temperature", "start": "-2h"})
	decodeOut(t, res, &out)
	var states []string
	for _, p := range out.Entities[0].Points {
		states = append(states, p.State)
	}
	if diff := cmp.Diff([]string{"22.8", "21.0", "21.5", "22.0"}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if out.TimeZone != "Europe/Paris" || !out.End.Equal(fixedNow) || !out.Start.Equal(fixedNow.Add(-2*time.Hour)) {
		t.Errorf("period %s..%s %s", out.Start, out.End, out.TimeZone)
	}
	if !strings.Contains(textOf(res), "sensor.kitchen_temperature \"Kitchen Temperature\": 4 states") {
		t.Errorf("text %q", textOf(res))
	}

	var limited getHistoryOut
	decodeOut(t, e.call(t, "get_history", map[string]any{"entity_id": []any{"sensor.kitchen_temperature", "light.garage"},
		"start": "2026-11-20 13:00", "end": "now", "limit": 2, "attributes": true}), &limited)
	k := limited.Entities[0]
	if k.Total != 4 || k.Omitted != 2 || len(k.Points) != 2 || k.Points[1].State != "22.0" || k.Points[1].Attributes["unit_of_measurement"] != "°C" {
		t.Errorf("limited kitchen history %+v", k)
	}
	if g := limited.Entities[1]; g.EntityID != "light.garage" || g.Total != 1 {
		t.Errorf("garage light history %+v", g)
	}

	bad := []struct {
		args      map[string]any
		fragments []string
	}{
		{map[string]any{"entity_id": "sensor.kitchen_temperature", "start": "last tuesday"}, []string{`"start"`, "-2h"}},
		{map[string]any{"entity_id": "sensor.kitchen_temperature", "start": "-1h", "end": "-2h"}, []string{`"start"`, "is not before end"}},
		{map[string]any{"entity_id": "sensor.nope"}, []string{`unknown entity "sensor.nope"`}},
		{map[string]any{"entity_id": []any{}}, []string{`"entity_id"`, "is empty"}},
		{map[string]any{"entity_id": []any{"sensor.a", 3}}, []string{`"entity_id"`, `got ["sensor.a",3]`}},
		{map[string]any{}, []string{`"entity_id"`, "is required"}},
	}
	for _, tc := range bad {
		t.Run("bad "+fmtArgs(tc.args), func(t *testing.T) {
			wantError(t, e.call(t, "get_history", tc.args), tc.fragments...)
		})
	}
}

func TestAutomations(t *testing.T) {
	e := startEnv(t, Config{Now: func() time.Time { return fixedNow }}, simhome.Options{})
	var created createAutomationOut
	decodeOut(t, e.call(t, "create_automation", map[string]any{"config": automationExampleYAML}), &created)
	want := createAutomationOut{ID: "1795185000000", EntityID: "automation.porch_light_at_sunset", Alias: "Porch light at sunset", State: "on"}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	var obj createAutomationOut
	decodeOut(t, e.call(t, "create_automation", map[string]any{"config": map[string]any{"id": "night_mode", "alias": "Night mode",
		"trigger": map[string]any{"trigger": "time", "at": "23:00:00"},
		"action":  []any{map[string]any{"action": "light.turn_off", "target": map[string]any{"entity_id": "light.office_desk"}}}}}), &obj)
	if obj.EntityID != "automation.night_mode" || obj.ID != "night_mode" {
		t.Errorf("created from an object: %+v", obj)
	}

	var list listAutomationsOut
	decodeOut(t, e.call(t, "list_automations", map[string]any{"search": "porch"}), &list)
	if list.Total != 1 || list.Automations[0].ID != "1795185000000" {
		t.Errorf("list: %+v", list)
	}

	var off toggleAutomationOut
	decodeOut(t, e.call(t, "toggle_automation", map[string]any{"entity_id": "automation.porch_light_at_sunset", "enable": false}), &off)
	if off.OldState != "on" || off.State != "off" {
		t.Errorf("disable: %+v", off)
	}
	var flipped toggleAutomationOut
	decodeOut(t, e.call(t, "toggle_automation", map[string]any{"entity_id": "automation.porch_light_at_sunset"}), &flipped)
	if flipped.State != "on" {
		t.Errorf("toggle: %+v", flipped)
	}
	decodeOut(t, e.call(t, "list_automations", map[string]any{"state": "off"}), &list)
	if list.Total != 0 {
		t.Errorf("disabled automations: %+v", list)
	}

	bad := []struct {
		tool      string
		args      map[string]any
		fragments []string
	}{
		{"create_automation", map[string]any{"config": "alias: x\ntriggers: [\n"}, []string{`"config"`, "not valid YAML"}},
		{"create_automation", map[string]any{"config": map[string]any{"triggers": []any{}, "actions": []any{}}}, []string{`"config"`, `needs "alias"`}},
		{"create_automation", map[string]any{"config": map[string]any{"alias": "x", "actions": []any{map[string]any{"action": "light.turn_on"}}}}, []string{`"config"`, `needs "triggers"`}},
		{"create_automation", map[string]any{"config": map[string]any{"alias": "x", "triggers": []any{map[string]any{"trigger": "teleport"}}, "actions": []any{map[string]any{"action": "light.turn_on"}}}},
			[]string{"Home Assistant rejected the automation", "triggers:", "nothing was saved"}},
		{"create_automation", map[string]any{"config": map[string]any{"id": "night_mode", "alias": "x", "triggers": []any{map[string]any{"trigger": "sun", "event": "sunset"}}, "actions": []any{map[string]any{"action": "light.turn_on"}}}},
			[]string{`id "night_mode" is already used`}},
		{"create_automation", map[string]any{"config": 42}, []string{`"config"`}},
		{"toggle_automation", map[string]any{"entity_id": "light.garage"}, []string{`"entity_id"`, "automation entity id"}},
		{"toggle_automation", map[string]any{"entity_id": "automation.nope"}, []string{`unknown entity "automation.nope"`}},
		{"toggle_automation", map[string]any{"entity_id": "automation.morning_lights", "enable": "yes"}, []string{`"enable"`, "true or false"}},
		{"list_automations", map[string]any{"state": "maybe"}, []string{`"state"`, "one of on, off, unavailable"}},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.tool+" "+fmtArgs(tc.args), func(t *testing.T) {
			wantError(t, e.call(t, tc.tool, tc.args), tc.fragments...)
		})
	}
}
