package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var paris = mustLoc("Europe/Paris")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestParseTime(t *testing.T) {
	now := fixedNow // 2026-11-20 14:30 UTC, 15:30 in Paris
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{" NOW ", now},
		{"-2h", now.Add(-2 * time.Hour)},
		{"-1d12h", now.Add(-36 * time.Hour)},
		{"- 30 min", now.Add(-30 * time.Minute)},
		{"+15m", now.Add(15 * time.Minute)},
		{"2 hours ago", now.Add(-2 * time.Hour)},
		{"1w ago", now.Add(-7 * 24 * time.Hour)},
		{"today", time.Date(2026, 11, 20, 0, 0, 0, 0, paris)},
		{"yesterday", time.Date(2026, 11, 19, 0, 0, 0, 0, paris)},
		{"07:30", time.Date(2026, 11, 20, 7, 30, 0, 0, paris)},
		{"2026-11-19", time.Date(2026, 11, 19, 0, 0, 0, 0, paris)},
		{"2026-11-19 08:15", time.Date(2026, 11, 19, 8, 15, 0, 0, paris)},
		{"2026-11-19T08:15:30", time.Date(2026, 11, 19, 8, 15, 30, 0, paris)},
		{"2026-11-19T08:15:30Z", time.Date(2026, 11, 19, 8, 15, 30, 0, time.UTC)},
		{"2026-11-19t08:15:30z", time.Date(2026, 11, 19, 8, 15, 30, 0, time.UTC)},
		{"2026-11-19T08:15:30.123456+01:00", time.Date(2026, 11, 19, 7, 15, 30, 123456000, time.UTC)},
		{"2026-11-19 08:15:30+00:00", time.Date(2026, 11, 19, 8, 15, 30, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := parseTime(tc.in, now, paris)
		if err != nil {
			t.Errorf("parseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "-", "-2", "-2x", "-h", "soon", "2026-13-01", "-99999999999h", "-3000000h", "25:00", "ago", "1 ago"} {
		if got, err := parseTime(bad, now, paris); err == nil {
			t.Errorf("parseTime(%q) = %s; want an error", bad, got)
		}
	}
}

func TestParseEntityIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`"light.kitchen"`, []string{"light.kitchen"}},
		{`"Light.Kitchen, light.hall ,light.kitchen"`, []string{"light.kitchen", "light.hall"}},
		{`["sensor.a", "sensor.b_2"]`, []string{"sensor.a", "sensor.b_2"}},
		{` [ "sensor.a" ] `, []string{"sensor.a"}},
	}
	for _, tc := range tests {
		got, err := parseEntityIDs(json.RawMessage(tc.in))
		if err != nil {
			t.Errorf("parseEntityIDs(%s): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseEntityIDs(%s) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{``, `null`, `""`, `" , "`, `[]`, `3`, `{"a":1}`, `["light.a", 3]`, `"light"`, `"light._a"`,
		`"light.a_"`, `"li__ght.a"`, `"light.a.b"`, `"light.Ä"`, `"_light.a"`, manyIDs(101)} {
		if got, err := parseEntityIDs(json.RawMessage(bad)); err == nil {
			t.Errorf("parseEntityIDs(%s) = %v; want an error", bad, got)
		}
	}
}

func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprintf("sensor.s%d", i))
	}
	return "[" + strings.Join(ids, ",") + "]"
}

func TestParseAutomationConfig(t *testing.T) {
	got, err := parseAutomationConfig("- alias: Night\n  trigger:\n    trigger: time\n    at: '23:00:00'\n  action:\n    - action: light.turn_off\n      data: {transition: 2}\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"alias": "Night",
		"triggers": []any{map[string]any{"trigger": "time", "at": "23:00:00"}},
		"actions":  []any{map[string]any{"action": "light.turn_off", "data": map[string]any{"transition": 2.0}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []any{"", "alias: x", "[1, 2]", "a: &x 1\nb: *x", "alias: x\ntriggers: 3\nactions: [a]", "alias: x\ntrigger: [a]\ntriggers: [a]\nactions: [a]",
		"{{{", 3.0, nil, "alias: x\ntriggers: [a]\nactions: []", "? [a]\n: b", strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		if got, err := parseAutomationConfig(bad); err == nil {
			t.Errorf("parseAutomationConfig(%q) = %v; want an error", bad, got)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"-2h", "now", "2026-01-31T07:00:00+01:00", "2026-01-31 07:00", "07:30", "3 days ago", "+1w2d", "-1d12h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s, fixedNow, paris)
		if err != nil {
			if got != (time.Time{}) {
				t.Errorf("parseTime(%q) returned %s with error %v", s, got, err)
			}
			return
		}
		if d, ok, rerr := parseRelative(strings.ToLower(strings.TrimSpace(s))); ok && rerr == nil && (d > maxRelative || d < -maxRelative) {
			t.Errorf("parseTime(%q): relative %s beyond the bound", s, d)
		}
	})
}

func FuzzParseEntityIDs(f *testing.F) {
	for _, s := range []string{`"light.kitchen"`, `"a.b, c.d"`, `["a.b","c.d"]`, `[1]`, `null`, `"a__b.c"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseEntityIDs(json.RawMessage(s))
		if err != nil {
			return
		}
		if len(ids) == 0 || len(ids) > maxEntityIDs {
			t.Errorf("parseEntityIDs(%q) = %d ids", s, len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !validEntityID(id) || seen[id] {
				t.Errorf("parseEntityIDs(%q) returned invalid or duplicate %q", s, id)
			}
			seen[id] = true
		}
	})
}

func FuzzParseAutomationConfig(f *testing.F) {
	for _, s := range []string{automationExampleYAML, "- alias: x\n  trigger: {trigger: sun}\n  action: [{action: a.b}]", "alias: x\ntriggers: [&a {}]\nactions: [*a]", "{", "[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseAutomationConfig(s)
		if err != nil {
			return
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Errorf("parseAutomationConfig(%q) is not JSON-encodable: %v", s, err)
		}
		for _, k := range []string{"trigger", "condition", "action"} {
			if _, ok := cfg[k]; ok {
				t.Errorf("parseAutomationConfig(%q) kept the singular key %q", s, k)
			}
		}
		if l, ok := cfg["triggers"].([]any); !ok || len(l) == 0 {
			t.Errorf("parseAutomationConfig(%q) has no triggers list", s)
		}
	})
}
