package mcphttp

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
)

// plainResult reports whether raw, a child's tools/call result with the
// bridge's _meta, means to any client what the SDK's encoding of it would
// mean, so that the fast path can send it as it is: a result
// decodeTextResult takes, with content present, structuredContent an
// object, _meta a non-empty object, isError a boolean, no key given twice
// at any depth (the SDK would keep the last), no number too large for a
// float64 (the SDK refuses the result), and no line break between
// tokens (an HTTP+SSE answer is one data line). What may still differ is
// spelling: key order, escapes, numbers as the child wrote them (the SDK's
// decoding rounds them to float64), and an "isError":false, which the SDK
// leaves out. It reads raw without decoding it: the decoders' maps cost
// more than the call's own JSON-RPC work.
func plainResult(raw []byte) bool {
	if bytes.ContainsAny(raw, "\r\n") || !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\ud`)) || bytes.Contains(raw, []byte(`\uD`)) {
		return false
	}
	if !jsonlimit.ValidUnique(raw) {
		return false
	}
	content := false
	ok := jsonscan.Every(raw, func(key, val []byte) bool {
		switch string(key) {
		case `"content"`:
			content = true
			return textItems(val)
		case `"structuredContent"`:
			return val[0] == '{' && numbersFit(val)
		case `"_meta"`: // the SDK leaves an empty one out
			n := 0
			return jsonscan.Every(val, func(_, _ []byte) bool { n++; return true }) && n > 0 && numbersFit(val)
		case `"isError"`:
			return string(val) == "true" || string(val) == "false"
		}
		return false // another key, or one spelled with escapes
	})
	return ok && content
}

// textItems reports whether content, valid JSON without duplicate keys, is
// an array of text items that have nothing but their type and text.
func textItems(content []byte) bool {
	return jsonscan.Elements(content, func(item []byte) bool {
		n := 0
		return jsonscan.Every(item, func(key, val []byte) bool {
			n++
			switch string(key) {
			case `"type"`:
				return string(val) == `"text"`
			case `"text"`:
				return val[0] == '"'
			}
			return false
		}) && n == 2
	})
}

// numbersFit reports whether every number in val, valid JSON, fits a
// float64: encoding/json, and so the SDK's decoding of a result, refuses
// 1e400 where a client would read it as written (JavaScript: Infinity).
// Only a number with an exponent or of hundreds of digits can overflow,
// so only those are parsed.
func numbersFit(val []byte) bool {
	for i := 0; i < len(val); i++ {
		switch c := val[i]; {
		case c == '"':
			for i++; val[i] != '"'; i++ {
				if val[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			j, exp := i, false
			for ; j < len(val) && strings.IndexByte("+-.eE0123456789", val[j]) >= 0; j++ {
				exp = exp || val[j] == 'e' || val[j] == 'E'
			}
			if exp || j-i > 300 {
				if _, err := strconv.ParseFloat(string(val[i:j]), 64); err != nil {
					return false
				}
			}
			i = j - 1
		}
	}
	return true
}
