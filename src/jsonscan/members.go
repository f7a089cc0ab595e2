package jsonscan

import (
	"bytes"
	"encoding/json"
)

// Members calls fn with each top-level member of the JSON object raw: its
// key (quoted, as written), its value, and the value's offset in raw. It
// stops early when fn returns false. It reports whether raw is an object it
// could walk; on malformed input it returns false, never panics. It checks
// the object's outline only: a caller that needs a valid text checks it
// first (json.Valid).
func Members(raw []byte, fn func(key, val []byte, start int) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		keyEnd, ok := skipString(raw, i)
		if !ok {
			return false
		}
		key := raw[i:keyEnd]
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		end, ok := skipValue(raw, i)
		if !ok {
			return false
		}
		if !fn(key, raw[i:end], i) {
			return true
		}
		var closed bool
		if i, closed, ok = next(raw, end, '}'); !ok || closed {
			return ok
		}
	}
}

// next reads what follows a member or element that ends at end: a comma
// (it returns the offset of the next one) or the container's closing
// byte (closed). ok is false for anything else.
func next(raw []byte, end int, closing byte) (i int, closed, ok bool) {
	i = skipSpace(raw, end)
	switch {
	case i >= len(raw):
		return i, false, false
	case raw[i] == ',':
		return skipSpace(raw, i+1), false, true
	case raw[i] == closing:
		return i, true, true
	}
	return i, false, false
}

// Every reports whether raw is a JSON object for each of whose members fn
// returns true. It stops at the first false.
func Every(raw []byte, fn func(key, val []byte) bool) bool {
	all := true
	ok := Members(raw, func(key, val []byte, _ int) bool {
		all = fn(key, val)
		return all
	})
	return ok && all
}

// Elements reports whether raw is a JSON array for each of whose elements
// fn returns true. It stops at the first false. Like Members it checks the
// outline only, and never panics.
func Elements(raw []byte, fn func(val []byte) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return true
	}
	for {
		end, ok := skipValue(raw, i)
		if !ok || !fn(raw[i:end]) {
			return false
		}
		var closed bool
		if i, closed, ok = next(raw, end, ']'); !ok || closed {
			return ok
		}
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset after the string starting at raw[i] ('"').
func skipString(raw []byte, i int) (int, bool) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the offset after the value starting at raw[i].
func skipValue(raw []byte, i int) (int, bool) {
	if i >= len(raw) {
		return 0, false
	}
	switch raw[i] {
	case '"':
		return skipString(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, ok := skipString(raw, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(raw) && raw[j] != ',' && raw[j] != '}' && raw[j] != ']' && skipSpace(raw, j) == j {
		j++
	}
	return j, j > i
}

// KeyIs reports whether the quoted JSON key equals name, escapes included.
func KeyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	var k string
	return json.Unmarshal(key, &k) == nil && k == name
}
