package jsonscan

import (
	"encoding/json"
	"unicode/utf8"
)

// ParseObject decodes valid JSON text raw, an object, into what a
// json.Decoder with UseNumber yields (map[string]any, []any, string,
// json.Number, bool, nil), without the decoder's buffers. raw must have
// passed json.Valid.
func ParseObject(raw []byte) (map[string]any, bool) {
	v, _, ok := parseValue(raw, skipSpace(raw, 0))
	m, isObj := v.(map[string]any)
	return m, ok && isObj
}

// parseValue decodes the value at raw[i] and returns it and the offset
// after it.
func parseValue(raw []byte, i int) (any, int, bool) {
	if i >= len(raw) {
		return nil, i, false
	}
	switch c := raw[i]; {
	case c == '{':
		return parseMembers(raw, i)
	case c == '[':
		return parseElements(raw, i)
	case c == '"':
		end, ok := skipString(raw, i)
		if !ok {
			return nil, i, false
		}
		s, ok := parseString(raw[i:end])
		return s, end, ok
	}
	end, ok := skipValue(raw, i)
	if !ok {
		return nil, i, false
	}
	switch lit := string(raw[i:end]); lit {
	case "true":
		return true, end, true
	case "false":
		return false, end, true
	case "null":
		return nil, end, true
	default:
		return json.Number(lit), end, true
	}
}

func parseMembers(raw []byte, i int) (any, int, bool) {
	m := map[string]any{}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return m, i + 1, true
	}
	for i < len(raw) {
		keyEnd, ok := skipString(raw, i)
		if !ok {
			return nil, i, false
		}
		key, ok := parseString(raw[i:keyEnd])
		if !ok {
			return nil, i, false
		}
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return nil, i, false
		}
		var v any
		v, i, ok = parseValue(raw, skipSpace(raw, i+1))
		if !ok {
			return nil, i, false
		}
		m[key] = v // a repeated key: the last wins, as with encoding/json
		if i = skipSpace(raw, i); i < len(raw) && raw[i] == '}' {
			return m, i + 1, true
		}
		if i >= len(raw) || raw[i] != ',' {
			return nil, i, false
		}
		i = skipSpace(raw, i+1)
	}
	return nil, i, false
}

func parseElements(raw []byte, i int) (any, int, bool) {
	list := []any{}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return list, i + 1, true
	}
	for i < len(raw) {
		v, next, ok := parseValue(raw, i)
		if !ok {
			return nil, i, false
		}
		list = append(list, v)
		if i = skipSpace(raw, next); i < len(raw) && raw[i] == ']' {
			return list, i + 1, true
		}
		if i >= len(raw) || raw[i] != ',' {
			return nil, i, false
		}
		i = skipSpace(raw, i+1)
	}
	return nil, i, false
}

// parseString decodes a quoted JSON string: plain ASCII directly, the rest
// (escapes, other UTF-8) by encoding/json so that the result is the same.
func parseString(quoted []byte) (string, bool) {
	body := quoted[1 : len(quoted)-1]
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			return s, json.Unmarshal(quoted, &s) == nil
		}
	}
	return string(body), true
}

// SmallInt parses a JSON integer of at most 15 digits (exact as a float64,
// as encoding/json and go-sdk read an id) without a sign or leading zero.
func SmallInt(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 15 || (raw[0] == '0' && len(raw) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
