package simhome

import (
	"strings"
)

// tmplNode is a statement of a parsed template.
type tmplNode interface{}

type (
	textStmt   struct{ text string }
	outputStmt struct{ x node }
	ifStmt     struct {
		conds  []node
		bodies [][]tmplNode
		els    []tmplNode
	}
	forStmt struct {
		vars []string
		iter node
		body []tmplNode
		els  []tmplNode
	}
	setStmt struct {
		name string
		x    node
	}
)

// tmplTag is one {{ }} or {% %} of the source with its text.
type tmplPiece struct {
	kind string // "text", "expr", "stmt"
	text string
}

// splitTemplate cuts the source into text, expressions and statements,
// dropping comments and applying "-" whitespace control.
func splitTemplate(src string) ([]tmplPiece, error) {
	var out []tmplPiece
	trimNext := false
	for len(src) > 0 {
		i := indexOpen(src)
		if i < 0 {
			out = appendText(out, src, trimNext, false)
			break
		}
		open := src[i : i+2]
		closer := map[string]string{"{{": "}}", "{%": "%}", "{#": "#}"}[open]
		body := src[i+2:]
		trimPrev := strings.HasPrefix(body, "-")
		j := strings.Index(body, closer)
		if j < 0 {
			if open == "{#" {
				return nil, syntaxErr("missing end of comment tag")
			}
			return nil, syntaxErr("unexpected end of template, expected %s.", pyStr(closer))
		}
		out = appendText(out, src[:i], trimNext, trimPrev)
		inner := body[:j]
		trimNext = strings.HasSuffix(inner, "-")
		inner = strings.TrimSuffix(strings.TrimPrefix(inner, "-"), "-")
		switch open {
		case "{{":
			out = append(out, tmplPiece{"expr", inner})
		case "{%":
			out = append(out, tmplPiece{"stmt", strings.TrimSpace(inner)})
		}
		src = body[j+2:]
	}
	return out, nil
}

func indexOpen(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

func appendText(out []tmplPiece, text string, trimLeft, trimRight bool) []tmplPiece {
	if trimLeft {
		text = strings.TrimLeft(text, " \t\r\n")
	}
	if trimRight {
		text = strings.TrimRight(text, " \t\r\n")
	}
	if text == "" {
		return out
	}
	return append(out, tmplPiece{"text", text})
}

// tmplParser builds statements from pieces.
type tmplParser struct {
	pieces []tmplPiece
	pos    int
	depth  int
}

func parseTemplate(src string) ([]tmplNode, error) {
	if len(src) > maxTemplateSize {
		return nil, syntaxErr("template too large")
	}
	pieces, err := splitTemplate(src)
	if err != nil {
		return nil, err
	}
	p := &tmplParser{pieces: pieces}
	body, end, err := p.block()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, syntaxErr("Encountered unknown tag %s.", pyStr(firstWord(end)))
	}
	return body, nil
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// block parses statements until an end/else/elif tag, which it returns.
func (p *tmplParser) block() ([]tmplNode, string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxTemplateDepth {
		return nil, "", syntaxErr("blocks nested too deeply")
	}
	var body []tmplNode
	for p.pos < len(p.pieces) {
		pc := p.pieces[p.pos]
		p.pos++
		switch pc.kind {
		case "text":
			body = append(body, textStmt{pc.text})
		case "expr":
			x, err := parseExpr(pc.text)
			if err != nil {
				return nil, "", err
			}
			body = append(body, outputStmt{x})
		case "stmt":
			word := firstWord(pc.text)
			switch word {
			case "endif", "endfor", "else", "elif":
				return body, pc.text, nil
			}
			n, err := p.statement(word, strings.TrimSpace(strings.TrimPrefix(pc.text, word)))
			if err != nil {
				return nil, "", err
			}
			body = append(body, n)
		}
	}
	return body, "", nil
}

func (p *tmplParser) statement(word, rest string) (tmplNode, error) {
	switch word {
	case "if":
		return p.ifBlock(rest)
	case "for":
		return p.forBlock(rest)
	case "set":
		name, expr, ok := strings.Cut(rest, "=")
		name = strings.TrimSpace(name)
		if !ok || !isIdent(name) {
			return nil, syntaxErr("expected token '=', got 'end of statement block'")
		}
		x, err := parseExpr(expr)
		return setStmt{name, x}, err
	case "":
		return nil, syntaxErr("tag name expected")
	}
	return nil, syntaxErr("Encountered unknown tag %s (simhome renders if, for and set only).", pyStr(word))
}

func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentStart(s[i]) && !(s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func (p *tmplParser) ifBlock(cond string) (tmplNode, error) {
	var n ifStmt
	for {
		x, err := parseExpr(cond)
		if err != nil {
			return nil, err
		}
		body, end, err := p.block()
		if err != nil {
			return nil, err
		}
		n.conds, n.bodies = append(n.conds, x), append(n.bodies, body)
		switch firstWord(end) {
		case "elif":
			cond = strings.TrimSpace(strings.TrimPrefix(end, "elif"))
			continue
		case "else":
			els, end2, err := p.block()
			if err != nil {
				return nil, err
			}
			if end2 != "endif" {
				return nil, syntaxErr("Unexpected end of template. Jinja was looking for the following tags: 'endif'.")
			}
			n.els = els
			return n, nil
		case "endif":
			return n, nil
		}
		return nil, syntaxErr("Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'.")
	}
}

func (p *tmplParser) forBlock(spec string) (tmplNode, error) {
	target, iter, ok := strings.Cut(spec, " in ")
	if !ok {
		return nil, syntaxErr("expected token 'in', got 'end of statement block'")
	}
	var n forStmt
	for _, v := range strings.Split(target, ",") {
		v = strings.TrimSpace(v)
		if !isIdent(v) {
			return nil, syntaxErr("expected token 'in', got %s", pyStr(v))
		}
		n.vars = append(n.vars, v)
	}
	x, err := parseExpr(iter)
	if err != nil {
		return nil, err
	}
	n.iter = x
	body, end, err := p.block()
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if n.els, end, err = p.block(); err != nil {
			return nil, err
		}
	}
	if end != "endfor" {
		return nil, syntaxErr("Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'.")
	}
	return n, nil
}
