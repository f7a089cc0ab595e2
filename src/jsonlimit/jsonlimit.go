// Package jsonlimit refuses JSON texts that decoders would fail on or read
// differently, before any decoder has to parse them: the bridge's own, a
// child's, or a client library's. A request nested a thousand levels deep is
// a few kilobytes, yet it can exhaust a recursive decoder (Check); an object
// with a key given twice means one thing to a decoder that keeps the first
// and another to one that keeps the last (CheckKeys). Both are refused at
// the edge with a clear error instead of reaching a child.
package jsonlimit

import (
	"errors"
	"fmt"
)

// DefaultMaxDepth is the nesting the bridge accepts in a client's message.
// Tool arguments and MCP messages need far fewer levels: an MCP request with
// arguments nested 16 deep sits at about depth 20.
const DefaultMaxDepth = 64

// ErrTooDeep is the error (wrapped) of a text nested deeper than allowed.
var ErrTooDeep = errors.New("JSON nested too deeply")

// Check reports an error wrapping ErrTooDeep if data nests arrays and
// objects more than maxDepth levels deep. It does not validate the rest of
// the syntax: a decoder still has to. It reads data once, without
// allocating, and is safe for concurrent use.
func Check(data []byte, maxDepth int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: more than %d levels of arrays and objects", ErrTooDeep, maxDepth)
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
