package jsonlimit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrDuplicateKey is the error (wrapped) of a text in which one object names
// the same key twice.
var ErrDuplicateKey = errors.New("JSON object has a duplicate key")

// keyFrame is one open container while CheckKeys walks a text.
type keyFrame struct {
	keys    map[string]struct{} // the object's keys so far; nil for an array
	wantKey bool                // the object's next string token is a key
}

// CheckKeys reports an error wrapping ErrDuplicateKey if any object in data,
// at any depth, has the same key twice (compared after unescaping, so
// "name" and "na\u006de" are the same key). encoding/json keeps the last of
// two keys while other decoders keep the first, so a text with duplicates
// can mean one thing to the bridge and another to a child: it is refused.
// Like Check it leaves the rest of the syntax to a decoder: it stops quietly
// at the first syntax error. Call Check first, as CheckKeys keeps a set of
// keys per open object. It is safe for concurrent use.
func CheckKeys(data []byte) error {
	var stack []keyFrame
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error that the decoder reports
		}
		n := len(stack)
		if key, ok := tok.(string); ok && n > 0 && stack[n-1].wantKey {
			top := &stack[n-1]
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
			}
			top.keys[key] = struct{}{}
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, keyFrame{keys: map[string]struct{}{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, keyFrame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:n-1]
		}
		// A value ended (a scalar or a container just closed): an
		// enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantKey = true
		}
	}
}
