package jsonlimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrDuplicateKey is the error (wrapped) of a text in which one object names
// the same key twice.
var ErrDuplicateKey = errors.New("JSON object has a duplicate key")

// keyFrame is one open container while CheckKeys walks a text.
type keyFrame struct {
	object  bool
	keys    []string            // the object's keys so far, while few
	set     map[string]struct{} // and past maxListedKeys of them
	wantKey bool                // the object's next string is a key
}

// maxListedKeys is how many keys an object's frame compares one by one
// before it switches to a map.
const maxListedKeys = 16

// CheckKeys reports an error wrapping ErrDuplicateKey if any object in data,
// at any depth, has the same key twice (compared after unescaping, so
// "name" and "na\u006de" are the same key). encoding/json keeps the last of
// two keys while other decoders keep the first, so a text with duplicates
// can mean one thing to the bridge and another to a child: it is refused.
// Like Check it leaves the rest of the syntax to a decoder: a text that is
// not valid JSON passes. Call Check first, as CheckKeys keeps a frame per
// open container. It is safe for concurrent use.
//
// It scans the bytes itself rather than through encoding/json's Decoder,
// whose tokens cost an allocation each: it runs on every request.
func CheckKeys(data []byte) error {
	if !json.Valid(data) {
		return nil
	}
	var stack []keyFrame
	for i := 0; i < len(data); {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		case '{', '[':
			stack = append(stack, keyFrame{object: c == '{', wantKey: c == '{'})
			i++
			continue
		case '}', ']':
			stack = stack[:len(stack)-1]
			i++
		case '"':
			end, key := stringAt(data, i)
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				if err := stack[n-1].add(key()); err != nil {
					return err
				}
				stack[n-1].wantKey = false
				i = end
				continue
			}
			i = end
		default: // a number, true, false or null
			for i < len(data) && !isDelim(data[i]) {
				i++
			}
		}
		// A value ended: an enclosing object expects a key next.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	return nil
}

// add records key, or reports it as a duplicate.
func (f *keyFrame) add(key string) error {
	if f.set != nil {
		if _, dup := f.set[key]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
		}
		f.set[key] = struct{}{}
		return nil
	}
	for _, k := range f.keys {
		if k == key {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
		}
	}
	f.keys = append(f.keys, key)
	if len(f.keys) > maxListedKeys {
		f.set = make(map[string]struct{}, 2*len(f.keys))
		for _, k := range f.keys {
			f.set[k] = struct{}{}
		}
		f.keys = nil
	}
	return nil
}

// stringAt returns the end of the valid JSON string starting at data[i],
// and its value, decoded on demand (keys only): as written unless it has
// escapes or non-ASCII bytes, which encoding/json decodes.
func stringAt(data []byte, i int) (end int, value func() string) {
	escaped := false
	j := i + 1
	for ; data[j] != '"'; j++ {
		switch {
		case data[j] == '\\':
			escaped = true
			j++ // the escaped byte ('"' or another); \uXXXX's digits need no care
		case data[j] >= utf8.RuneSelf:
			escaped = true // decoded as encoding/json does (invalid UTF-8 becomes U+FFFD)
		}
	}
	raw := data[i : j+1]
	return j + 1, func() string {
		if !escaped {
			return string(raw[1 : len(raw)-1])
		}
		var s string
		_ = json.Unmarshal(raw, &s) // valid: json.Valid passed
		return s
	}
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', ']', '}':
		return true
	}
	return false
}
