package jsonlimit

import (
	"bytes"
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
	first   int                 // the object's keys are keys[first:] of the walk, while few
	set     map[string]struct{} // and past maxListedKeys of them
	wantKey bool                // the object's next string is a key
}

// key is a key as written, quotes included; escaped if it has escapes or
// non-ASCII bytes, which encoding/json decodes.
type key struct {
	raw     []byte
	escaped bool
}

// value returns the key as encoding/json decodes it.
func (k key) value() string {
	if !k.escaped {
		return string(k.raw[1 : len(k.raw)-1])
	}
	var s string
	_ = json.Unmarshal(k.raw, &s) // valid: json.Valid passed
	return s
}

func (k key) is(o key) bool {
	if !k.escaped && !o.escaped {
		return bytes.Equal(k.raw, o.raw)
	}
	return k.value() == o.value()
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
// whose tokens cost an allocation each: it runs on every request and on
// every result the MCP fast path sends as the child wrote it. The open
// objects' keys share one slice, compared as written unless escaped, so
// that a text of a few small objects allocates nothing.
func CheckKeys(data []byte) error {
	if !json.Valid(data) {
		return nil
	}
	return checkKeys(data)
}

// ValidUnique reports whether data is valid JSON in which no object has
// the same key twice: a text that every decoder reads alike. It is
// json.Valid and CheckKeys for the price of one validation, for a caller
// that reads the text's bytes itself rather than decode it.
func ValidUnique(data []byte) bool {
	return json.Valid(data) && checkKeys(data) == nil
}

// checkKeys is CheckKeys of valid JSON.
func checkKeys(data []byte) error {
	var stackBuf [8]keyFrame
	var keysBuf [32]key
	stack, keys := stackBuf[:0], keysBuf[:0]
	for i := 0; i < len(data); {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		case '{', '[':
			stack = append(stack, keyFrame{object: c == '{', wantKey: c == '{', first: len(keys)})
			i++
			continue
		case '}', ']':
			keys = keys[:stack[len(stack)-1].first]
			stack = stack[:len(stack)-1]
			i++
		case '"':
			end, escaped := stringAt(data, i)
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				var err error
				if keys, err = stack[n-1].add(keys, key{data[i:end], escaped}); err != nil {
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

// add records k in keys, the walk's keys with the frame's last, or reports
// it as a duplicate.
func (f *keyFrame) add(keys []key, k key) ([]key, error) {
	if f.set != nil {
		v := k.value()
		if _, dup := f.set[v]; dup {
			return keys, fmt.Errorf("%w: %q", ErrDuplicateKey, v)
		}
		f.set[v] = struct{}{}
		return keys, nil
	}
	for _, o := range keys[f.first:] {
		if o.is(k) {
			return keys, fmt.Errorf("%w: %q", ErrDuplicateKey, k.value())
		}
	}
	keys = append(keys, k)
	if len(keys)-f.first > maxListedKeys {
		f.set = make(map[string]struct{}, 2*(len(keys)-f.first))
		for _, o := range keys[f.first:] {
			f.set[o.value()] = struct{}{}
		}
		keys = keys[:f.first]
	}
	return keys, nil
}

// stringAt returns the end of the valid JSON string starting at data[i],
// and whether it has escapes or non-ASCII bytes, which encoding/json
// decodes (invalid UTF-8 becomes U+FFFD).
func stringAt(data []byte, i int) (end int, escaped bool) {
	j := i + 1
	for ; data[j] != '"'; j++ {
		switch {
		case data[j] == '\\':
			escaped = true
			j++ // the escaped byte ('"' or another); \uXXXX's digits need no care
		case data[j] >= utf8.RuneSelf:
			escaped = true
		}
	}
	return j + 1, escaped
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', ']', '}':
		return true
	}
	return false
}
