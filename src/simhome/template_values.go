package simhome

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// stateAttr is TemplateState's attributes.
func stateAttr(st *entityState, name string) any {
	domain, object, _ := strings.Cut(st.EntityID, ".")
	switch name {
	case "state":
		return st.State
	case "entity_id":
		return st.EntityID
	case "domain":
		return domain
	case "object_id":
		return object
	case "name":
		if n, ok := st.Attributes["friendly_name"].(string); ok {
			return n
		}
		return strings.ReplaceAll(object, "_", " ")
	case "attributes":
		return fromJSON(map[string]any(st.Attributes))
	case "last_changed":
		return isoTime(st.LastChanged)
	case "last_updated":
		return isoTime(st.LastUpdated)
	case "last_reported":
		return isoTime(st.LastReported)
	case "context":
		return map[string]any{"id": st.Context.ID}
	}
	return undefinedVal{"'TemplateState object' has no attribute " + pyStr(name)}
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil, undefinedVal:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case int64:
		return v != 0
	case float64:
		return v != 0
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case string:
		return "str"
	case int64:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case stateVal:
		return "TemplateState"
	case domainVal:
		return "DomainStates"
	case statesRoot:
		return "AllStates"
	case funcVal:
		return "function"
	}
	return "Undefined"
}

// pyStrOf is Python's str() of a value.
func pyStrOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case undefinedVal:
		return ""
	case float64:
		return pyFloatRepr(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		return v.String()
	case stateVal:
		return fmt.Sprintf("<template TemplateState(<state %s=%s; %s @ %s>)>", v.st.EntityID, v.st.State, attrsRepr(v.st), isoTime(v.st.LastChanged))
	case domainVal:
		return "<template DomainStates('" + v.domain + "')>"
	case statesRoot:
		return "<template AllStates>"
	case funcVal:
		return "<function " + v.name + ">"
	}
	return pyReprOf(v)
}

func attrsRepr(st *entityState) string {
	keys := make([]string, 0, len(st.Attributes))
	for k := range st.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + pyStrOf(fromJSON(st.Attributes[k]))
	}
	return strings.Join(parts, ", ")
}

// pyReprOf is Python's repr() of an evaluation value.
func pyReprOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return pyStr(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyReprOf(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyStr(k) + ": " + pyReprOf(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return pyStrOf(v)
}

// pyFloatRepr is Python's repr(float): shortest digits, positional between
// 1e-4 and 1e16, always with a fraction or an exponent.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		if len(exp) < 2 {
			exp = fmt.Sprintf("%02s", exp)
		}
		return mant + "e" + string(sign) + exp
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
