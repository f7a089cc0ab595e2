package simhome

import (
	"strconv"
	"strings"
)

// node is an expression node.
type node interface{}

type (
	litNode  struct{ v any }
	nameNode struct{ name string }
	attrNode struct {
		x    node
		name string
	}
	indexNode struct{ x, idx node }
	callNode  struct {
		fn     node
		args   []node
		kwargs map[string]node
	}
	filterNode struct {
		x      node
		name   string
		args   []node
		kwargs map[string]node
	}
	testNode struct {
		x    node
		name string
		neg  bool
		args []node
	}
	unaryNode struct {
		op string
		x  node
	}
	binNode struct {
		op   string
		l, r node
	}
	condNode struct{ then, cond, els node }
	listNode struct{ items []node }
	dictNode struct{ keys, vals []node }
)

// exprParser is a recursive-descent parser for Jinja expressions.
type exprParser struct {
	toks  []token
	pos   int
	depth int
}

func parseExpr(src string) (node, error) {
	toks, err := lexExpr(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, syntaxErr("unexpected %s", pyStr(t.text))
	}
	return n, nil
}

func (p *exprParser) peek() token { return p.toks[p.pos] }

func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != "eof" {
		p.pos++
	}
	return t
}

func (p *exprParser) isOp(op string) bool {
	t := p.peek()
	return t.kind == "op" && t.text == op
}

func (p *exprParser) isName(name string) bool {
	t := p.peek()
	return t.kind == "name" && t.text == name
}

func (p *exprParser) expect(op string) error {
	if !p.isOp(op) {
		t := p.peek()
		if t.kind == "eof" {
			return syntaxErr("unexpected end of template, expected %s.", pyStr(op))
		}
		return syntaxErr("expected token %s, got %s", pyStr(op), pyStr(t.text))
	}
	p.next()
	return nil
}

// expr parses a conditional expression: a if cond else b.
func (p *exprParser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxTemplateDepth {
		return nil, syntaxErr("expression nested too deeply")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if !p.isName("if") {
		return n, nil
	}
	p.next()
	cond, err := p.or()
	if err != nil {
		return nil, err
	}
	var els node = litNode{nil}
	if p.isName("else") {
		p.next()
		if els, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return condNode{then: n, cond: cond, els: els}, nil
}

func (p *exprParser) or() (node, error)  { return p.binary(p.and, "or") }
func (p *exprParser) and() (node, error) { return p.binary(p.not, "and") }

func (p *exprParser) not() (node, error) {
	if p.isName("not") {
		p.next()
		x, err := p.not()
		return unaryNode{"not", x}, err
	}
	return p.compare()
}

// binary parses left-associative keyword operators.
func (p *exprParser) binary(sub func() (node, error), ops ...string) (node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if (t.kind != "name" && t.kind != "op") || !contains(ops, t.text) {
			return l, nil
		}
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = binNode{t.text, l, r}
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func (p *exprParser) compare() (node, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		switch t := p.peek(); {
		case t.kind == "op" && contains([]string{"==", "!=", "<", ">", "<=", ">="}, t.text):
			op = t.text
		case t.kind == "name" && t.text == "in":
			op = "in"
		case t.kind == "name" && t.text == "not" && p.toks[p.pos+1].kind == "name" && p.toks[p.pos+1].text == "in":
			p.next()
			op = "not in"
		case t.kind == "name" && t.text == "is":
			if l, err = p.test(l); err != nil {
				return nil, err
			}
			continue
		default:
			return l, nil
		}
		p.next()
		r, err := p.concat()
		if err != nil {
			return nil, err
		}
		l = binNode{op, l, r}
	}
}

// test parses "x is [not] name [args]".
func (p *exprParser) test(x node) (node, error) {
	p.next() // is
	neg := false
	if p.isName("not") {
		p.next()
		neg = true
	}
	t := p.next()
	if t.kind != "name" {
		return nil, syntaxErr("expected test name, got %s", pyStr(t.text))
	}
	n := testNode{x: x, name: t.text, neg: neg}
	if p.isOp("(") {
		args, _, err := p.args()
		if err != nil {
			return nil, err
		}
		n.args = args
	} else if k := p.peek().kind; k == "str" || k == "num" {
		arg, err := p.primary()
		if err != nil {
			return nil, err
		}
		n.args = []node{arg}
	}
	return n, nil
}

func (p *exprParser) concat() (node, error) { return p.binary(p.sum, "~") }
func (p *exprParser) sum() (node, error)    { return p.binary(p.product, "+", "-") }
func (p *exprParser) product() (node, error) {
	return p.binary(p.unary, "*", "/", "//", "%")
}

func (p *exprParser) unary() (node, error) {
	if p.isOp("-") || p.isOp("+") {
		op := p.next().text
		x, err := p.unary()
		return unaryNode{op, x}, err
	}
	return p.power()
}

// power parses "**", which binds tighter than unary minus on its left.
func (p *exprParser) power() (node, error) {
	base, err := p.postfix()
	if err != nil || !p.isOp("**") {
		return base, err
	}
	p.next()
	exp, err := p.unary()
	return binNode{"**", base, exp}, err
}

// postfix parses a primary followed by .attr, [index], (call) and |filter.
func (p *exprParser) postfix() (node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != "name" && t.kind != "num" {
				return nil, syntaxErr("expected name after '.'")
			}
			n = attrNode{n, t.text}
		case p.isOp("["):
			p.next()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = indexNode{n, idx}
		case p.isOp("("):
			args, kwargs, err := p.args()
			if err != nil {
				return nil, err
			}
			n = callNode{n, args, kwargs}
		case p.isOp("|"):
			p.next()
			t := p.next()
			if t.kind != "name" {
				return nil, syntaxErr("expected filter name, got %s", pyStr(t.text))
			}
			f := filterNode{x: n, name: t.text}
			if p.isOp("(") {
				if f.args, f.kwargs, err = p.args(); err != nil {
					return nil, err
				}
			}
			n = f
		default:
			return n, nil
		}
	}
}

// args parses "(a, b, key=c)".
func (p *exprParser) args() ([]node, map[string]node, error) {
	p.next() // (
	var args []node
	kwargs := map[string]node{}
	for !p.isOp(")") {
		if len(args)+len(kwargs) > 0 {
			if err := p.expect(","); err != nil {
				return nil, nil, err
			}
		}
		if t := p.peek(); t.kind == "name" && p.toks[p.pos+1].kind == "op" && p.toks[p.pos+1].text == "=" {
			p.pos += 2
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			kwargs[t.text] = v
			continue
		}
		a, err := p.expr()
		if err != nil {
			return nil, nil, err
		}
		args = append(args, a)
	}
	p.next()
	return args, kwargs, nil
}

func (p *exprParser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case "num":
		return parseNumber(t.text)
	case "str":
		s := t.text
		for p.peek().kind == "str" { // adjacent literals concatenate
			s += p.next().text
		}
		return litNode{s}, nil
	case "name":
		switch t.text {
		case "true", "True":
			return litNode{true}, nil
		case "false", "False":
			return litNode{false}, nil
		case "none", "None":
			return litNode{nil}, nil
		}
		return nameNode{t.text}, nil
	case "op":
		return p.group(t)
	}
	return nil, syntaxErr("unexpected end of template, expected an expression.")
}

// group parses ( ... ), [ ... ] and { ... }.
func (p *exprParser) group(t token) (node, error) {
	switch t.text {
	case "(":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.isOp(",") { // a tuple: evaluate as a list
			items := []node{n}
			for p.isOp(",") {
				p.next()
				if p.isOp(")") {
					break
				}
				it, err := p.expr()
				if err != nil {
					return nil, err
				}
				items = append(items, it)
			}
			n = listNode{items}
		}
		return n, p.expect(")")
	case "[":
		var items []node
		for !p.isOp("]") {
			if len(items) > 0 {
				if err := p.expect(","); err != nil {
					return nil, err
				}
				if p.isOp("]") {
					break
				}
			}
			it, err := p.expr()
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		p.next()
		return listNode{items}, nil
	case "{":
		return p.dict()
	}
	return nil, syntaxErr("unexpected %s", pyStr(t.text))
}

func (p *exprParser) dict() (node, error) {
	var d dictNode
	for !p.isOp("}") {
		if len(d.keys) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
			if p.isOp("}") {
				break
			}
		}
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		d.keys, d.vals = append(d.keys, k), append(d.vals, v)
	}
	p.next()
	return d, nil
}

func parseNumber(s string) (node, error) {
	s = strings.ReplaceAll(s, "_", "")
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return litNode{i}, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, syntaxErr("invalid number %s", pyStr(s))
	}
	return litNode{f}, nil
}
