package simhome

import (
	"fmt"
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
