package hasstest

import (
	"fmt"
	"strconv"
	"strings"
)

// TemplateError is a template that cannot be rendered; its text follows
// Home Assistant's TemplateError: "<ExceptionClass>: <message>".
type templateError struct{ msg string }

func (e *templateError) Error() string { return e.msg }

func syntaxErr(format string, args ...any) *templateError {
	return &templateError{msg: "TemplateSyntaxError: " + fmt.Sprintf(format, args...)}
}

// Maximum nesting and size the parser accepts; deeper input is refused
// rather than risking the stack.
const (
	maxTemplateDepth = 64
	maxTemplateSize  = 256 << 10
)

// token is one lexeme of an expression.
type token struct {
	kind string // "name", "num", "str", "op", "eof"
	text string
	pos  int
}

// lexExpr splits an expression into tokens.
func lexExpr(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			toks = append(toks, token{"name", src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := lexNumber(src, i)
			toks = append(toks, token{"num", src[i:j], i})
			i = j
		case c == '\'' || c == '"':
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{"str", s, i})
			i += n
		default:
			op := lexOp(src[i:])
			if op == "" {
				return nil, syntaxErr("unexpected char %s at %d", pyStr(string(c)), i)
			}
			toks = append(toks, token{"op", op, i})
			i += len(op)
		}
	}
	return append(toks, token{"eof", "", len(src)}), nil
}

// lexNumber returns the end of the number starting at i: digits,
// underscores, a fraction and an exponent.
func lexNumber(src string, i int) int {
	digit := func(j int) bool { return j < len(src) && src[j] >= '0' && src[j] <= '9' }
	j := i
	for digit(j) || j < len(src) && src[j] == '_' {
		j++
	}
	if j < len(src) && src[j] == '.' && digit(j+1) {
		j++
		for digit(j) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if digit(k) {
			for j = k; digit(j); j++ {
			}
		}
	}
	return j
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func lexOp(s string) string {
	for _, op := range []string{"==", "!=", "<=", ">=", "//", "**"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	if strings.ContainsRune("()[]{},.|:<>+-*/%~=", rune(s[0])) {
		return s[:1]
	}
	return ""
}

// lexString reads a quoted string with Python escapes; it returns the
// value and the number of bytes consumed.
func lexString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, syntaxErr("unexpected end of string")
}

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
