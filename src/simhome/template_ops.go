package simhome

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

func (e *renderEnv) evalUnary(n unaryNode) (any, error) {
	x, err := e.eval(n.x)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "not":
		return !truthy(x), nil
	case "-":
		switch v := x.(type) {
		case int64:
			return -v, nil
		case float64:
			return -v, nil
		}
	case "+":
		switch x.(type) {
		case int64, float64:
			return x, nil
		}
	}
	return nil, typeErr("bad operand type for unary %s: '%s'", n.op, pyType(x))
}

func typeErr(format string, args ...any) *templateError {
	return &templateError{msg: "TypeError: " + fmt.Sprintf(format, args...)}
}

func (e *renderEnv) evalBinary(n binNode) (any, error) {
	l, err := e.eval(n.l)
	if err != nil {
		return nil, err
	}
	switch n.op { // short-circuit, returning the operand like Python
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return e.eval(n.r)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return e.eval(n.r)
	}
	r, err := e.eval(n.r)
	if err != nil {
		return nil, err
	}
	for _, v := range []any{l, r} {
		if u, ok := v.(undefinedVal); ok && n.op != "==" && n.op != "!=" && n.op != "~" {
			return nil, undefinedErr(u.hint)
		}
	}
	switch n.op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", ">", "<=", ">=":
		return compare(n.op, l, r)
	case "in", "not in":
		in, err := contain(r, l)
		return in == (n.op == "in"), err
	case "~":
		return checkSize(pyStrOf(l) + pyStrOf(r))
	}
	v, err := arith(n.op, l, r)
	if err != nil {
		return nil, err
	}
	return checkSize(v)
}

// maxValueSize bounds strings and lists a template builds, so that a
// doubling loop fails instead of eating the memory.
const maxValueSize = 1 << 20

func checkSize(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if len(x) > maxValueSize {
			return nil, &templateError{msg: "MemoryError: value too large for the fake"}
		}
	case []any:
		if len(x) > maxValueSize/8 {
			return nil, &templateError{msg: "MemoryError: value too large for the fake"}
		}
	}
	return v, nil
}

func equal(a, b any) bool {
	fa, aNum := numeric(a)
	fb, bNum := numeric(b)
	if aNum && bNum {
		return fa == fb
	}
	switch a.(type) {
	case []any, map[string]any:
		return pyReprOf(a) == pyReprOf(b)
	case undefinedVal:
		_, ok := b.(undefinedVal)
		return ok
	}
	return a == b
}

// numeric reports numbers (bools count, as in Python).
func numeric(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func compare(op string, l, r any) (any, error) {
	var c int
	fl, lNum := numeric(l)
	fr, rNum := numeric(r)
	sl, lStr := l.(string)
	sr, rStr := r.(string)
	switch {
	case lNum && rNum:
		c = cmpFloat(fl, fr)
	case lStr && rStr:
		c = strings.Compare(sl, sr)
	default:
		return nil, typeErr("'%s' not supported between instances of '%s' and '%s'", op, pyType(l), pyType(r))
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	}
	return c >= 0, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func contain(container, item any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, typeErr("'in <string>' requires string as left operand, not %s", pyType(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, e := range c {
			if equal(e, item) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		s, ok := item.(string)
		_, in := c[s]
		return ok && in, nil
	}
	return false, typeErr("argument of type '%s' is not iterable", pyType(container))
}

func arith(op string, l, r any) (any, error) {
	if op == "+" {
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				return ls + rs, nil
			}
		}
		if ll, ok := l.([]any); ok {
			if rl, ok := r.([]any); ok {
				return append(slices.Clone(ll), rl...), nil
			}
		}
	}
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	fl, lNum := numeric(l)
	fr, rNum := numeric(r)
	if !lNum || !rNum {
		return nil, typeErr("unsupported operand type(s) for %s: '%s' and '%s'", op, pyType(l), pyType(r))
	}
	if (op == "/" || op == "//" || op == "%") && fr == 0 {
		return nil, &templateError{msg: "ZeroDivisionError: division by zero"}
	}
	if lInt && rInt {
		if v, ok := intArith(op, li, ri); ok {
			return v, nil
		}
	}
	switch op {
	case "+":
		return fl + fr, nil
	case "-":
		return fl - fr, nil
	case "*":
		return fl * fr, nil
	case "/":
		return fl / fr, nil
	case "//":
		return math.Floor(fl / fr), nil
	case "%":
		return fl - fr*math.Floor(fl/fr), nil
	case "**":
		return math.Pow(fl, fr), nil
	}
	return nil, syntaxErr("unsupported operator %s", pyStr(op))
}

// intArith is int op int in Python; ok is false when the result is a float.
func intArith(op string, l, r int64) (int64, bool) {
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "//":
		return int64(math.Floor(float64(l) / float64(r))), true
	case "%":
		return ((l % r) + r) % r, true
	case "**":
		if r >= 0 && r < 64 {
			return int64(math.Pow(float64(l), float64(r))), true
		}
	}
	return 0, false
}

func (e *renderEnv) evalTest(n testNode) (any, error) {
	x, err := e.eval(n.x)
	if err != nil {
		return nil, err
	}
	a, err := e.evalList(n.args)
	if err != nil {
		return nil, err
	}
	res, err := applyTest(n.name, x, a)
	if err != nil {
		return nil, err
	}
	return res != n.neg, nil
}

func applyTest(name string, x any, a []any) (bool, error) {
	_, isUndef := x.(undefinedVal)
	switch name {
	case "defined":
		return !isUndef, nil
	case "undefined":
		return isUndef, nil
	case "none":
		return x == nil, nil
	case "number":
		_, ok := numeric(x)
		_, isBool := x.(bool)
		return ok && !isBool, nil
	case "string":
		_, ok := x.(string)
		return ok, nil
	case "boolean":
		_, ok := x.(bool)
		return ok, nil
	case "mapping":
		_, ok := x.(map[string]any)
		return ok, nil
	case "sequence", "iterable", "list":
		switch x.(type) {
		case []any, string, map[string]any:
			return true, nil
		}
		return false, nil
	case "eq", "equalto", "==":
		return equal(x, arg(a, 0)), nil
	case "ne", "!=":
		return !equal(x, arg(a, 0)), nil
	case "in":
		return contain(arg(a, 0), x)
	case "true":
		return x == true, nil
	case "false":
		return x == false, nil
	case "odd", "even":
		i, ok := x.(int64)
		return ok && (i%2 != 0) == (name == "odd"), nil
	case "gt", "lt", "ge", "le", ">", "<", ">=", "<=":
		op := map[string]string{"gt": ">", "lt": "<", "ge": ">=", "le": "<="}[name]
		if op == "" {
			op = name
		}
		r, err := compare(op, x, arg(a, 0))
		return r == true, err
	}
	return false, &templateError{msg: fmt.Sprintf("TemplateAssertionError: No test named %s (or simhome does not implement it).", pyStr(name))}
}
