package simhome

import (
	"testing"
)

// FuzzIncomingMessage feeds raw frames through the decoder and the command
// and auth schemas: any input must give an answer or an error, never a panic.
func FuzzIncomingMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"auth","access_token":"x"}`,
		`{"id":1,"type":"call_service","domain":"light","service":"turn_on","target":{"entity_id":"light.a"}}`,
		`[{"id":2,"type":"ping"},{"id":3}]`,
		`{"id":1.5,"type":7}`, `null`, `"str"`, `{"id":1,"type":"render_template","template":"{{ x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(data)
		if err != nil {
			return
		}
		checkAuthMessage(v)
		for _, m := range append([]any{v}, asList(v)...) {
			obj, ok := m.(map[string]any)
			if !ok {
				continue
			}
			typ, _ := obj["type"].(string)
			if h, ok := handlers[typ]; ok {
				validateFields(obj, h.schema)
			}
			if typ == "call_service" {
				def := &svcDef{entityDomain: "*", fields: lightTurnOnFields()}
				def.validate(obj)
			}
			validateTriggers(obj["triggers"], "")
			validateConditions(obj["conditions"], "")
			validateActions(obj["actions"], "")
		}
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// FuzzTemplate renders arbitrary templates against the demo house.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{
		"{{ states('light.kitchen_spots') }}",
		"{% for s in states.light %}{{ s.name }}{% endfor %}",
		"{{ (1 + 2) * 3 | float }} {{ [1, {'a': none}] }}",
		"{% if x is defined %}{{ x | default('y') }}{% elif 1 %}z{% endif %}",
		"{{ 'a' ~ 1e5 ~ -3 // 2 ** 3 }}",
		"{{ states.light | selectattr('state','eq','on') | map(attribute='entity_id') | join(',') }}",
		"{{", "{%", "{#", "}}{{ ( }}", "{{ [[[[[[ }}",
	} {
		f.Add(seed)
	}
	w := demoWorld()
	f.Fuzz(func(t *testing.T, src string) {
		out, _, err := renderTemplate(w, src, map[string]any{"x": 1}, false)
		if err == nil {
			parseResult(out)
		}
	})
}
