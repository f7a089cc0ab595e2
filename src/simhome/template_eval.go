package simhome

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Values during evaluation are string, int64, float64, bool, nil, []any,
// map[string]any, or one of these.
type (
	undefinedVal struct{ hint string } // jinja2 Undefined
	stateVal     struct{ st *entityState }
	domainVal    struct{ domain string } // states.light
	statesRoot   struct{}                // states
	funcVal      struct{ name string }
)

// maxTemplateSteps bounds the work of one render (loops over big houses).
const maxTemplateSteps = 1_000_000

// renderEnv is one rendering of a template against the world.
type renderEnv struct {
	w        *world
	scopes   []map[string]any
	strict   bool
	steps    int
	entities map[string]bool
	domains  map[string]bool
	all      bool
}

func newRenderEnv(w *world, vars map[string]any, strict bool) *renderEnv {
	scope := map[string]any{}
	for k, v := range normalizeAttrs(vars) {
		scope[k] = fromJSON(v)
	}
	return &renderEnv{w: w, scopes: []map[string]any{scope}, strict: strict,
		entities: map[string]bool{}, domains: map[string]bool{}}
}

// fromJSON converts decoded JSON (json.Number) into evaluation values.
func fromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, ok := intValue(v); ok {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = fromJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fromJSON(e)
		}
		return out
	}
	return v
}

func undefinedErr(name string) *templateError {
	return &templateError{msg: "UndefinedError: " + name}
}

// renderTemplate renders src to text (parse_result=False).
func renderTemplate(w *world, src string, vars map[string]any, strict bool) (string, *renderEnv, error) {
	nodes, err := parseTemplate(src)
	if err != nil {
		return "", nil, err
	}
	env := newRenderEnv(w, vars, strict)
	var b strings.Builder
	if err := env.exec(nodes, &b); err != nil {
		return "", env, err
	}
	return strings.TrimSpace(b.String()), env, nil
}

func (e *renderEnv) exec(nodes []tmplNode, b *strings.Builder) error {
	for _, n := range nodes {
		if e.steps++; e.steps > maxTemplateSteps {
			return &templateError{msg: "TemplateError: template exceeded the work limit of the fake"}
		}
		if b.Len() > maxTemplateSize*4 {
			return &templateError{msg: "TemplateError: template output too large"}
		}
		if err := e.execOne(n, b); err != nil {
			return err
		}
	}
	return nil
}

func (e *renderEnv) execOne(n tmplNode, b *strings.Builder) error {
	switch n := n.(type) {
	case textStmt:
		b.WriteString(n.text)
	case outputStmt:
		v, err := e.eval(n.x)
		if err != nil {
			return err
		}
		if u, ok := v.(undefinedVal); ok && e.strict {
			return undefinedErr(u.hint)
		}
		b.WriteString(pyStrOf(v))
	case setStmt:
		v, err := e.eval(n.x)
		if err != nil {
			return err
		}
		e.scopes[len(e.scopes)-1][n.name] = v
	case ifStmt:
		for i, c := range n.conds {
			v, err := e.eval(c)
			if err != nil {
				return err
			}
			if truthy(v) {
				return e.exec(n.bodies[i], b)
			}
		}
		return e.exec(n.els, b)
	case forStmt:
		return e.execFor(n, b)
	}
	return nil
}

func (e *renderEnv) execFor(n forStmt, b *strings.Builder) error {
	it, err := e.eval(n.iter)
	if err != nil {
		return err
	}
	items, err := e.iterate(it)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return e.exec(n.els, b)
	}
	// Each iteration has its own scope: like Jinja, a set inside the body
	// neither leaks out nor carries over to the next iteration.
	e.scopes = append(e.scopes, nil)
	defer func() { e.scopes = e.scopes[:len(e.scopes)-1] }()
	for i, item := range items {
		scope := map[string]any{}
		e.scopes[len(e.scopes)-1] = scope
		if len(n.vars) == 1 {
			scope[n.vars[0]] = item
		} else {
			parts, _ := item.([]any)
			for j, name := range n.vars {
				if j < len(parts) {
					scope[name] = parts[j]
				} else {
					scope[name] = undefinedVal{"'tuple object' has no element " + strconv.Itoa(j)}
				}
			}
		}
		scope["loop"] = map[string]any{"index": int64(i + 1), "index0": int64(i), "first": i == 0,
			"last": i == len(items)-1, "length": int64(len(items))}
		if err := e.exec(n.body, b); err != nil {
			return err
		}
	}
	return nil
}

// iterate lists the items of an iterable value.
func (e *renderEnv) iterate(v any) ([]any, error) {
	switch v := v.(type) {
	case []any:
		return v, nil
	case string:
		out := make([]any, 0, len(v))
		for _, r := range v {
			out = append(out, string(r))
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, nil
	case statesRoot:
		e.all = true
		return e.statesOf(""), nil
	case domainVal:
		e.domains[v.domain] = true
		return e.statesOf(v.domain), nil
	case undefinedVal:
		if e.strict {
			return nil, undefinedErr(v.hint)
		}
		return nil, nil
	}
	return nil, &templateError{msg: fmt.Sprintf("TypeError: '%s' object is not iterable", pyType(v))}
}

// statesOf returns the states of a domain ("" = all), sorted by entity id
// as AllStates iterates them.
func (e *renderEnv) statesOf(domain string) []any {
	ids := slices.Clone(e.w.order)
	slices.Sort(ids)
	var out []any
	for _, id := range ids {
		if d, _, _ := splitEntityID(id); domain == "" || d == domain {
			out = append(out, stateVal{e.w.states[id]})
		}
	}
	return out
}

func (e *renderEnv) lookup(name string) any {
	for i := len(e.scopes) - 1; i >= 0; i-- {
		if v, ok := e.scopes[i][name]; ok {
			return v
		}
	}
	if name == "states" {
		return statesRoot{}
	}
	if _, ok := templateFuncs[name]; ok {
		return funcVal{name}
	}
	return undefinedVal{pyStr(name) + " is undefined"}
}

func (e *renderEnv) eval(n node) (any, error) {
	if e.steps++; e.steps > maxTemplateSteps {
		return nil, &templateError{msg: "TemplateError: template exceeded the work limit of the fake"}
	}
	switch n := n.(type) {
	case litNode:
		return n.v, nil
	case nameNode:
		return e.lookup(n.name), nil
	case attrNode:
		x, err := e.eval(n.x)
		if err != nil {
			return nil, err
		}
		return e.getAttr(x, n.name)
	case indexNode:
		return e.evalIndex(n)
	case callNode:
		return e.evalCall(n)
	case filterNode:
		return e.evalFilter(n)
	case testNode:
		return e.evalTest(n)
	case unaryNode:
		return e.evalUnary(n)
	case binNode:
		return e.evalBinary(n)
	case condNode:
		c, err := e.eval(n.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return e.eval(n.then)
		}
		return e.eval(n.els)
	case listNode:
		return e.evalList(n.items)
	case dictNode:
		return e.evalDict(n)
	}
	return nil, syntaxErr("unsupported expression")
}

func (e *renderEnv) evalList(items []node) ([]any, error) {
	out := make([]any, 0, len(items))
	for _, it := range items {
		v, err := e.eval(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (e *renderEnv) evalDict(n dictNode) (any, error) {
	out := map[string]any{}
	for i := range n.keys {
		k, err := e.eval(n.keys[i])
		if err != nil {
			return nil, err
		}
		v, err := e.eval(n.vals[i])
		if err != nil {
			return nil, err
		}
		out[pyStrOf(k)] = v
	}
	return out, nil
}

func (e *renderEnv) evalIndex(n indexNode) (any, error) {
	x, err := e.eval(n.x)
	if err != nil {
		return nil, err
	}
	idx, err := e.eval(n.idx)
	if err != nil {
		return nil, err
	}
	if s, ok := idx.(string); ok {
		return e.getAttr(x, s)
	}
	i, ok := idx.(int64)
	var seq []any
	switch x := x.(type) {
	case []any:
		seq = x
	case string:
		seq, _ = e.iterate(x)
	case undefinedVal:
		return nil, undefinedErr(x.hint)
	}
	if !ok || seq == nil {
		return undefinedVal{fmt.Sprintf("%s object has no element %s", pyStr(pyType(x)), pyStrOf(idx))}, nil
	}
	if i < 0 {
		i += int64(len(seq))
	}
	if i < 0 || i >= int64(len(seq)) {
		return undefinedVal{fmt.Sprintf("%s object has no element %d", pyStr(pyType(x)), i)}, nil
	}
	return seq[i], nil
}

// getAttr resolves x.name (and x['name']).
func (e *renderEnv) getAttr(x any, name string) (any, error) {
	switch x := x.(type) {
	case undefinedVal:
		return nil, undefinedErr(x.hint)
	case map[string]any:
		if v, ok := x[name]; ok {
			return v, nil
		}
		return undefinedVal{"'dict object' has no attribute " + pyStr(name)}, nil
	case statesRoot:
		if !validDomain(name) {
			return undefinedVal{"'AllStates' has no attribute " + pyStr(name)}, nil
		}
		return domainVal{name}, nil
	case domainVal:
		id := x.domain + "." + name
		e.entities[id] = true
		if st := e.w.states[id]; st != nil {
			return stateVal{st}, nil
		}
		return nil, nil
	case stateVal:
		return stateAttr(x.st, name), nil
	}
	return undefinedVal{fmt.Sprintf("%s object has no attribute %s", pyStr(pyType(x)), pyStr(name))}, nil
}
