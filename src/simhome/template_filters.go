package simhome

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
)

type filterFunc func(e *renderEnv, x any, a []any, kw map[string]any) (any, error)

var templateFilters map[string]filterFunc

func init() {
	templateFilters = map[string]filterFunc{
		"float": func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
			return convFloat(append([]any{x}, a...), kw, "float")
		},
		"int": func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
			return convInt(append([]any{x}, a...), kw, "int")
		},
		"round":      filterRound,
		"lower":      strFilter(strings.ToLower),
		"upper":      strFilter(strings.ToUpper),
		"trim":       strFilter(strings.TrimSpace),
		"title":      strFilter(titleCase),
		"capitalize": strFilter(capitalizeStr),
		"string":     func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return pyStrOf(x), nil },
		"default":    filterDefault,
		"d":          filterDefault,
		"length":     filterLength,
		"count":      filterLength,
		"list":       func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return e.iterate(x) },
		"join":       filterJoin,
		"first":      func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return pick(e, x, 0) },
		"last":       func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return pick(e, x, -1) },
		"sort":       filterSort,
		"replace":    filterReplace,
		"abs":        filterAbs,
		"sum":        filterSum,
		"min":        func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return extreme(e, x, -1) },
		"max":        func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return extreme(e, x, 1) },
		"selectattr": func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return selectAttr(e, x, a, true) },
		"rejectattr": func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return selectAttr(e, x, a, false) },
		"map":        filterMap,
		"tojson":     filterToJSON,
		"to_json":    filterToJSON,
		"bool":       filterBool,
		"is_defined": filterIsDefined,
	}
}

func (e *renderEnv) evalFilter(n filterNode) (any, error) {
	x, err := e.eval(n.x)
	if err != nil {
		return nil, err
	}
	a, kw, err := e.evalArgs(n.args, n.kwargs)
	if err != nil {
		return nil, err
	}
	f, ok := templateFilters[n.name]
	if !ok {
		return nil, &templateError{msg: fmt.Sprintf("TemplateAssertionError: No filter named %s (or simhome does not implement it).", pyStr(n.name))}
	}
	if u, isU := x.(undefinedVal); isU && n.name != "default" && n.name != "d" && n.name != "is_defined" && n.name != "string" {
		return nil, undefinedErr(u.hint)
	}
	return f(e, x, a, kw)
}

func strFilter(fn func(string) string) filterFunc {
	return func(e *renderEnv, x any, a []any, kw map[string]any) (any, error) { return fn(pyStrOf(x)), nil }
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if !unicode.IsLetter(prev) {
			return unicode.ToUpper(r)
		}
		return unicode.ToLower(r)
	}, s)
}

func capitalizeStr(s string) string {
	if s == "" {
		return s
	}
	r := []rune(strings.ToLower(s))
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// filterRound is HA's forgiving_round: round(precision=0, method="common").
func filterRound(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	f, ok := numeric(x)
	if s, isStr := x.(string); isStr {
		v, err := convFloat([]any{s}, nil, "round")
		if err != nil {
			if d, has := kw["default"]; has {
				return d, nil
			}
			return nil, err
		}
		f, ok = v.(float64), true
	}
	if !ok {
		return nil, typeErr("type %s doesn't define __round__ method", pyType(x))
	}
	prec, _ := arg(a, 0).(int64)
	method, _ := arg(a, 1).(string)
	p := math.Pow(10, float64(prec))
	switch method {
	case "floor":
		f = math.Floor(f*p) / p
	case "ceil":
		f = math.Ceil(f*p) / p
	default:
		f = math.RoundToEven(f*p) / p
	}
	if prec == 0 {
		return float64(int64(f)), nil
	}
	return f, nil
}

func filterDefault(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	_, undef := x.(undefinedVal)
	useBool := truthy(arg(a, 1)) || truthy(kw["boolean"])
	if undef || useBool && !truthy(x) {
		if len(a) > 0 {
			return a[0], nil
		}
		return "", nil
	}
	return x, nil
}

func filterLength(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	switch v := x.(type) {
	case string:
		return int64(len([]rune(v))), nil
	case []any:
		return int64(len(v)), nil
	case map[string]any:
		return int64(len(v)), nil
	}
	items, err := e.iterate(x)
	if err != nil {
		return nil, typeErr("object of type '%s' has no len()", pyType(x))
	}
	return int64(len(items)), nil
}

func filterJoin(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	sep, _ := arg(a, 0).(string)
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = pyStrOf(it)
	}
	return strings.Join(parts, sep), nil
}

func pick(e *renderEnv, x any, i int) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return undefinedVal{"No first item, sequence was empty."}, nil
	}
	if i < 0 {
		i = len(items) - 1
	}
	return items[i], nil
}

func filterSort(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(items)
	var cmpErr error
	slices.SortStableFunc(out, func(p, q any) int {
		if lt, err := compare("<", p, q); err != nil {
			cmpErr = err
		} else if lt == true {
			return -1
		} else if equal(p, q) {
			return 0
		}
		return 1
	})
	if truthy(arg(a, 0)) || truthy(kw["reverse"]) {
		slices.Reverse(out)
	}
	return out, cmpErr
}

func filterReplace(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	old, _ := arg(a, 0).(string)
	repl, _ := arg(a, 1).(string)
	return strings.ReplaceAll(pyStrOf(x), old, repl), nil
}

func filterAbs(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	switch v := x.(type) {
	case int64:
		if v < 0 {
			return -v, nil
		}
		return v, nil
	case float64:
		return math.Abs(v), nil
	}
	return nil, typeErr("bad operand type for abs(): '%s'", pyType(x))
}

func filterSum(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	var total any = int64(0)
	for _, it := range items {
		if total, err = arith("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func extreme(e *renderEnv, x any, sign int) (any, error) {
	items, err := e.iterate(x)
	if err != nil || len(items) == 0 {
		return undefinedVal{"No aggregated item, sequence was empty."}, err
	}
	best := items[0]
	for _, it := range items[1:] {
		op := "<"
		if sign > 0 {
			op = ">"
		}
		better, err := compare(op, it, best)
		if err != nil {
			return nil, err
		}
		if better == true {
			best = it
		}
	}
	return best, nil
}

// selectAttr is selectattr/rejectattr(attribute[, test[, value]]).
func selectAttr(e *renderEnv, x any, a []any, keep bool) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	name, _ := arg(a, 0).(string)
	out := []any{}
	for _, it := range items {
		v, err := e.getPath(it, name)
		if err != nil {
			return nil, err
		}
		ok := truthy(v)
		if test, isStr := arg(a, 1).(string); isStr {
			if ok, err = applyTest(test, v, a[2:]); err != nil {
				return nil, err
			}
		}
		if ok == keep {
			out = append(out, it)
		}
	}
	return out, nil
}

// getPath follows a dotted attribute path ("attributes.brightness").
func (e *renderEnv) getPath(x any, path string) (any, error) {
	for _, part := range strings.Split(path, ".") {
		v, err := e.getAttr(x, part)
		if err != nil {
			return nil, err
		}
		x = v
	}
	return x, nil
}

// filterMap supports map(attribute='x') and map('filter').
func filterMap(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	items, err := e.iterate(x)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		var v any
		if attr, ok := kw["attribute"].(string); ok {
			v, err = e.getPath(it, attr)
		} else if name, ok := arg(a, 0).(string); ok && templateFilters[name] != nil {
			v, err = templateFilters[name](e, it, a[1:], map[string]any{})
		} else {
			return nil, &templateError{msg: "FilterArgumentError: map requires a filter argument"}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func filterToJSON(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	b, err := json.Marshal(toJSONValue(x))
	if err != nil {
		return nil, typeErr("Object of type %s is not JSON serializable", pyType(x))
	}
	return string(b), nil
}

// toJSONValue turns evaluation values back into encodable ones.
func toJSONValue(v any) any {
	switch v := v.(type) {
	case float64:
		return json.Number(pyFloatRepr(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toJSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = toJSONValue(e)
		}
		return out
	case stateVal:
		return v.st
	case undefinedVal, domainVal, statesRoot, funcVal:
		return nil
	}
	return v
}

func filterBool(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	if b, ok := boolValue(x); ok {
		return b, nil
	}
	if _, ok := numeric(x); ok {
		return truthy(x), nil
	}
	return convDefault(append([]any{x}, a...), kw, "bool", x)
}

func filterIsDefined(e *renderEnv, x any, a []any, kw map[string]any) (any, error) {
	if u, ok := x.(undefinedVal); ok {
		return nil, undefinedErr(u.hint)
	}
	return x, nil
}
