package simhome

import (
	"testing"
	"time"
)

func demoWorld() *world {
	w := newWorld(DemoHome(), time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	return &w
}

func TestRenderTemplate(t *testing.T) {
	w := demoWorld()
	tests := []struct {
		tpl  string
		vars map[string]any
		want string
	}{
		{"plain text", nil, "plain text"},
		{"{{ states('sensor.kitchen_temperature') }}", nil, "22.8"},
		{"{{ states('sensor.nope') }}", nil, "unknown"},
		{"{{ states('sensor.kitchen_temperature', with_unit=True) }}", nil, "22.8 °C"},
		{"{{ state_attr('light.living_room_ceiling', 'brightness') }}", nil, "180"},
		{"{{ state_attr('light.living_room_ceiling', 'missing') }}", nil, "None"},
		{"{{ is_state('lock.front_door', 'locked') }}", nil, "True"},
		{"{{ is_state('lock.front_door', ['open', 'unlocked']) }}", nil, "False"},
		{"{{ states.light.kitchen_counter.state }}", nil, "on"},
		{"{{ states.light.kitchen_counter.attributes.brightness }}", nil, "255"},
		{"{{ states.light.kitchen_counter.name }}", nil, "Kitchen Counter"},
		{"{{ states('sensor.kitchen_temperature') | float + 1 }}", nil, "23.8"},
		{"{{ (states('sensor.kitchen_temperature') | float * 9 / 5 + 32) | round(1) }}", nil, "73.0"},
		{"{{ 'on' | float(0) }}", nil, "0"},
		{"{{ states('sensor.kitchen_humidity') | int > 40 }}", nil, "True"},
		{"{% if is_state('binary_sensor.kitchen_window', 'on') %}open{% else %}closed{% endif %}", nil, "open"},
		{"{% for s in states.lock %}{{ s.entity_id }}{% if not loop.last %}, {% endif %}{% endfor %}", nil, "lock.front_door, lock.garden_gate"},
		{"{{ states.light | selectattr('state', 'eq', 'on') | map(attribute='entity_id') | list | length }}", nil, "3"},
		{"{{ states.switch | map(attribute='name') | join(', ') }}", nil, "Coffee Machine, Garden Irrigation, Office Monitor Plug"},
		{"{{ name ~ '!' }}", map[string]any{"name": "Alice"}, "Alice!"},
		{"{{ n * 2 }}", map[string]any{"n": 21}, "42"},
		{"{% set x = 3 %}{{ x + 0.5 }}", nil, "3.5"},
		{"{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}", nil, "231"},
		{"{{ area_name('light.kitchen_spots') }}", nil, "Kitchen"},
		{"{{ area_entities('garage') | sort | first }}", nil, "binary_sensor.garage_motion"},
		{"{{ [1, 2] }}", nil, "[1, 2]"},
		{"{{ {'a': 1} }}", nil, "{'a': 1}"},
		{"{{ undefined_thing }}", nil, ""},
		{"{{ missing | default('fallback') }}", nil, "fallback"},
		{"{{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 3 }}", nil, "3 1 8"},
		{"{{ 'a' in 'abc' and 3 not in [1, 2] }}", nil, "True"},
		{"{{ 'yes' if is_state('input_boolean.guest_mode', 'on') else 'no' }}", nil, "no"},
		{"{{ iif(true, 'x', 'y') }}", nil, "x"},
		{"{{ 'Hello World' | lower | replace('world', 'there') | title }}", nil, "Hello There"},
		{"{# a comment #}{{- ' trimmed ' -}}", nil, "trimmed"},
		{"{{ has_value('sensor.kitchen_temperature') }}", nil, "True"},
		{"{{ 1e20 }} {{ 0.1 + 0.2 }} {{ 1234567.0 }}", nil, "1e+20 0.30000000000000004 1234567.0"},
	}
	for _, tt := range tests {
		got, _, err := renderTemplate(w, tt.tpl, tt.vars, false)
		if err != nil {
			t.Errorf("render %q: %v", tt.tpl, err)
			continue
		}
		if got != tt.want {
			t.Errorf("render %q = %q, want %q", tt.tpl, got, tt.want)
		}
	}
}

func TestRenderTemplateErrors(t *testing.T) {
	w := demoWorld()
	tests := []struct{ tpl, want string }{
		{"{{ my_unknown_func() + 1 }}", "UndefinedError: 'my_unknown_func' is undefined"},
		{"{{ states('sensor.kitchen_window') | float }}", "ValueError: Template error: float got invalid input 'unknown' when rendering template but no default was specified"},
		{"{{ 1 / 0 }}", "ZeroDivisionError: division by zero"},
		{"{{ 'a' + 1 }}", "TypeError: unsupported operand type(s) for +: 'str' and 'int'"},
		{"{{ states('x.y') ", "TemplateSyntaxError: unexpected end of template, expected '}}'."},
		{"{% if true %}never closed", "TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'."},
		{"{{ 1 | no_such_filter }}", "TemplateAssertionError: No filter named 'no_such_filter' (or simhome does not implement it)."},
		{"{% macro m() %}{% endmacro %}", "TemplateSyntaxError: Encountered unknown tag 'macro' (simhome renders if, for and set only)."},
		{"{{ range(100000) + range(100000) }}", "MemoryError: value too large for the fake"},
		{"{{ ) }}", "TemplateSyntaxError: unexpected ')'"},
	}
	for _, tt := range tests {
		_, _, err := renderTemplate(w, tt.tpl, nil, false)
		if err == nil {
			t.Errorf("render %q succeeded, want %q", tt.tpl, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("render %q error = %q, want %q", tt.tpl, err, tt.want)
		}
	}
	if _, _, err := renderTemplate(w, "{{ nope }}", nil, true); err == nil || err.Error() != "UndefinedError: 'nope' is undefined" {
		t.Errorf("strict undefined = %v, want UndefinedError", err)
	}
}

func TestParseResult(t *testing.T) {
	tests := []struct {
		in   string
		want string // JSON of the parsed result
	}{
		{"42", "42"}, {"-5", "-5"}, {"21.5", "21.5"}, {"5.0", "5.0"}, {"007", `"007"`}, {"on", `"on"`},
		{"True", "true"}, {"None", "null"}, {"[1, 'a']", `[1,"a"]`}, {"{'a': [True]}", `{"a":[true]}`},
		{"'quoted'", `"'quoted'"`}, {"1e3", `"1e3"`}, {"", `""`}, {"12:00", `"12:00"`},
	}
	for _, tt := range tests {
		if got := string(mustJSON(parseResult(tt.in))); got != tt.want {
			t.Errorf("parseResult(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
