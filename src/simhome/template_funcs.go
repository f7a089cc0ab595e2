package simhome

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// templateFunc is a global function of Home Assistant's template
// environment.
type templateFunc func(e *renderEnv, args []any, kwargs map[string]any) (any, error)

var templateFuncs map[string]templateFunc

func init() {
	templateFuncs = map[string]templateFunc{
		"states":        fnStates,
		"is_state":      fnIsState,
		"state_attr":    fnStateAttr,
		"is_state_attr": fnIsStateAttr,
		"has_value":     fnHasValue,
		"area_name":     fnAreaName,
		"area_entities": fnAreaEntities,
		"float":         func(e *renderEnv, a []any, kw map[string]any) (any, error) { return convFloat(a, kw, "float") },
		"int":           func(e *renderEnv, a []any, kw map[string]any) (any, error) { return convInt(a, kw, "int") },
		"is_number":     func(e *renderEnv, a []any, kw map[string]any) (any, error) { return isNumber(arg(a, 0)), nil },
		"iif":           fnIif,
		"range":         fnRange,
	}
}

func arg(a []any, i int) any {
	if i < len(a) {
		return a[i]
	}
	return undefinedVal{"missing argument"}
}

func argStr(a []any, i int) string {
	s, _ := arg(a, i).(string)
	return strings.ToLower(s)
}

func (e *renderEnv) state(id string) *entityState {
	e.entities[id] = true
	return e.w.states[id]
}

func fnStates(e *renderEnv, a []any, kw map[string]any) (any, error) {
	st := e.state(argStr(a, 0))
	if st == nil {
		return "unknown", nil
	}
	if truthy(kw["with_unit"]) {
		if u, ok := st.Attributes["unit_of_measurement"].(string); ok {
			return st.State + " " + u, nil
		}
	}
	return st.State, nil
}

func fnIsState(e *renderEnv, a []any, kw map[string]any) (any, error) {
	st := e.state(argStr(a, 0))
	if st == nil {
		return false, nil
	}
	switch want := arg(a, 1).(type) {
	case string:
		return st.State == want, nil
	case []any:
		for _, w := range want {
			if w == st.State {
				return true, nil
			}
		}
	}
	return false, nil
}

func fnStateAttr(e *renderEnv, a []any, kw map[string]any) (any, error) {
	st := e.state(argStr(a, 0))
	name, _ := arg(a, 1).(string)
	if st == nil {
		return nil, nil
	}
	if v, ok := st.Attributes[name]; ok {
		return fromJSON(v), nil
	}
	return nil, nil
}

func fnIsStateAttr(e *renderEnv, a []any, kw map[string]any) (any, error) {
	v, _ := fnStateAttr(e, a, kw)
	return v != nil && equal(v, arg(a, 2)), nil
}

func fnHasValue(e *renderEnv, a []any, kw map[string]any) (any, error) {
	st := e.state(argStr(a, 0))
	return st != nil && st.State != "unknown" && st.State != "unavailable", nil
}

// fnAreaName accepts an area id, an entity id or a device id.
func fnAreaName(e *renderEnv, a []any, kw map[string]any) (any, error) {
	key, _ := arg(a, 0).(string)
	id := key
	if en, ok := e.w.reg.entry(key); ok {
		id = e.w.reg.entityArea(en)
	} else if d, ok := e.w.reg.device(key); ok {
		id = d.AreaID
	}
	for _, ar := range e.w.reg.areas {
		if ar.ID == id {
			return ar.Name, nil
		}
	}
	return nil, nil
}

func fnAreaEntities(e *renderEnv, a []any, kw map[string]any) (any, error) {
	key, _ := arg(a, 0).(string)
	id := key
	for _, ar := range e.w.reg.areas {
		if strings.EqualFold(ar.Name, key) {
			id = ar.ID
		}
	}
	out := []any{}
	for _, en := range e.w.reg.entitiesIn(nil, []string{id}) {
		out = append(out, en)
	}
	return out, nil
}

func fnIif(e *renderEnv, a []any, kw map[string]any) (any, error) {
	ifTrue, ifFalse := any(true), any(false)
	if len(a) > 1 {
		ifTrue = a[1]
	}
	if len(a) > 2 {
		ifFalse = a[2]
	}
	if truthy(arg(a, 0)) {
		return ifTrue, nil
	}
	return ifFalse, nil
}

func fnRange(e *renderEnv, a []any, kw map[string]any) (any, error) {
	var lo, hi int64
	switch len(a) {
	case 1:
		hi, _ = a[0].(int64)
	case 2:
		lo, _ = a[0].(int64)
		hi, _ = a[1].(int64)
	default:
		return nil, &templateError{msg: "TypeError: range expected 1 or 2 integer arguments in simhome"}
	}
	if hi-lo > 100000 {
		return nil, &templateError{msg: "OverflowError: range too big, maximum size for range is 100000"}
	}
	out := []any{}
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out, nil
}

func isNumber(v any) bool {
	switch v := v.(type) {
	case int64, float64:
		return true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return false
}

// convFloat is HA's forgiving_float(_filter): a default or a ValueError.
func convFloat(a []any, kw map[string]any, name string) (any, error) {
	v := arg(a, 0)
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, nil
		}
	}
	return convDefault(a, kw, name, v)
}

func convInt(a []any, kw map[string]any, name string) (any, error) {
	v := arg(a, 0)
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return int64(f), nil
		}
	}
	return convDefault(a, kw, name, v)
}

func convDefault(a []any, kw map[string]any, name string, v any) (any, error) {
	if len(a) > 1 {
		return a[1], nil
	}
	if d, ok := kw["default"]; ok {
		return d, nil
	}
	return nil, &templateError{msg: fmt.Sprintf("ValueError: Template error: %s got invalid input %s when rendering template but no default was specified", name, pyReprOf(v))}
}

func (e *renderEnv) evalArgs(args []node, kwargs map[string]node) ([]any, map[string]any, error) {
	a, err := e.evalList(args)
	if err != nil {
		return nil, nil, err
	}
	kw := map[string]any{}
	for k, n := range kwargs {
		if kw[k], err = e.eval(n); err != nil {
			return nil, nil, err
		}
	}
	return a, kw, nil
}

func (e *renderEnv) evalCall(n callNode) (any, error) {
	fn, err := e.eval(n.fn)
	if err != nil {
		return nil, err
	}
	a, kw, err := e.evalArgs(n.args, n.kwargs)
	if err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case funcVal:
		return templateFuncs[f.name](e, a, kw)
	case statesRoot:
		return fnStates(e, a, kw)
	case undefinedVal:
		return nil, undefinedErr(f.hint)
	}
	if an, ok := n.fn.(attrNode); ok {
		return e.callMethod(n.fn, an.name, a)
	}
	return nil, &templateError{msg: fmt.Sprintf("TypeError: '%s' object is not callable", pyType(fn))}
}

// callMethod supports the few str/dict methods templates use.
func (e *renderEnv) callMethod(fn node, name string, a []any) (any, error) {
	recv, err := e.eval(fn.(attrNode).x)
	if err != nil {
		return nil, err
	}
	switch r := recv.(type) {
	case string:
		switch name {
		case "lower":
			return strings.ToLower(r), nil
		case "upper":
			return strings.ToUpper(r), nil
		case "strip":
			return strings.TrimSpace(r), nil
		case "startswith":
			s, _ := arg(a, 0).(string)
			return strings.HasPrefix(r, s), nil
		case "endswith":
			s, _ := arg(a, 0).(string)
			return strings.HasSuffix(r, s), nil
		case "split":
			return splitStr(r, a), nil
		case "replace":
			o, _ := arg(a, 0).(string)
			n, _ := arg(a, 1).(string)
			return strings.ReplaceAll(r, o, n), nil
		}
	case map[string]any:
		switch name {
		case "get":
			if v, ok := r[pyStrOf(arg(a, 0))]; ok {
				return v, nil
			}
			if len(a) > 1 {
				return a[1], nil
			}
			return nil, nil
		case "keys", "items", "values":
			return dictView(r, name), nil
		}
	}
	return nil, &templateError{msg: fmt.Sprintf("UndefinedError: '%s object' has no attribute '%s' (or simhome does not implement it)", pyType(recv), name)}
}

func splitStr(s string, a []any) []any {
	var parts []string
	if sep, ok := arg(a, 0).(string); ok {
		parts = strings.Split(s, sep)
	} else {
		parts = strings.Fields(s)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func dictView(m map[string]any, kind string) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		switch kind {
		case "keys":
			out[i] = k
		case "values":
			out[i] = m[k]
		default:
			out[i] = []any{k, m[k]}
		}
	}
	return out
}
