package simhome

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// kind is the type a schema field must have.
type kind int

const (
	kindAny kind = iota
	kindStr
	kindBool
	kindDict
	kindPositiveInt
	kindFloat
	kindEntityIDs // cv.entity_ids: a comma separated string or a list of ids
)

// field is one key of a command schema (a vol.Required/vol.Optional).
type field struct {
	name     string
	required bool
	kind     kind
}

// validateFields checks m against a websocket_command schema ("id" and
// "type" are implicit; extra keys are refused, as voluptuous does by
// default) and returns voluptuous' humanized error, or "".
func validateFields(m map[string]any, schema []field) string {
	var errs []string
	known := map[string]bool{"id": true, "type": true}
	for _, f := range schema {
		known[f.name] = true
		v, ok := m[f.name]
		if !ok {
			if f.required {
				errs = append(errs, fmt.Sprintf("required key not provided @ data['%s']. Got None", f.name))
			}
			continue
		}
		if msg := checkKind(v, f.kind); msg != "" {
			errs = append(errs, fmt.Sprintf("%s for dictionary value @ data['%s']. Got %s", msg, f.name, pyReprOf(v)))
		}
	}
	for k, v := range m {
		if !known[k] {
			errs = append(errs, fmt.Sprintf("extra keys not allowed @ data['%s']. Got %s", k, pyReprOf(v)))
		}
	}
	return joinSorted(errs)
}

// checkKind returns voluptuous' message for a value of the wrong type.
func checkKind(v any, k kind) string {
	switch k {
	case kindStr:
		if _, ok := v.(string); !ok {
			return "expected str"
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			return "expected bool"
		}
	case kindDict:
		if _, ok := v.(map[string]any); !ok {
			return "expected dict"
		}
	case kindPositiveInt:
		if i, ok := intValue(v); !ok {
			return "expected int"
		} else if i < 0 {
			return "value must be at least 0"
		}
	case kindFloat:
		if _, ok := floatValue(v); !ok {
			return "expected float"
		}
	case kindEntityIDs:
		if _, err := entityIDList(v); err != "" {
			return err
		}
	}
	return ""
}

// entityIDList implements cv.entity_ids (and cv.comp_entity_ids loosely):
// a comma separated string or a list of valid, lowercased entity ids.
func entityIDList(v any) ([]string, string) {
	var raw []string
	switch v := v.(type) {
	case string:
		for _, p := range strings.Split(v, ",") {
			raw = append(raw, strings.TrimSpace(p))
		}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, "Entity ID " + pyReprOf(e) + " is an invalid entity ID"
			}
			raw = append(raw, strings.TrimSpace(s))
		}
	case nil:
		return nil, ""
	default:
		return nil, "Entity ID " + pyReprOf(v) + " is an invalid entity ID"
	}
	out := make([]string, 0, len(raw))
	for _, id := range raw {
		id = strings.ToLower(id)
		if id == "all" || id == "none" {
			out = append(out, id)
			continue
		}
		if !validEntityID(id) {
			return nil, "Entity " + id + " is neither a valid entity ID nor a valid UUID"
		}
		out = append(out, id)
	}
	return out, ""
}

// stringList accepts a string or a list of strings (cv.ensure_list of str).
func stringList(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case nil:
		return nil, true
	}
	return nil, false
}

// floatValue reads a JSON number or a numeric string (vol.Coerce(float)).
func floatValue(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	}
	return 0, false
}

func joinSorted(errs []string) string {
	slices.Sort(errs)
	return strings.Join(errs, "\n")
}

// pyStr is repr() of a str: single quotes unless the text holds one and no
// double quote.
func pyStr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
