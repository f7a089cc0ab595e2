package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
)

// MetaPrefix prefixes the bridge's keys in a result's _meta, in the
// reverse-DNS form MCP asks for (the second label is neither "mcp" nor
// "modelcontextprotocol", which MCP reserves).
const MetaPrefix = "io.github.mcp-bridge/"

// ErrBadResult: a child answered a tools/call result that is not a JSON
// object.
var ErrBadResult = errors.New("bridge: the MCP server answered a result that is not a JSON object")

// WithMeta returns the CallToolResult raw with m's facts added to its _meta
// under MetaPrefix, keeping every other member (and the child's own _meta
// keys) byte for byte. It does not decode the result: it splices, so a large
// result costs one validation pass.
func WithMeta(raw json.RawMessage, m Meta) (json.RawMessage, error) {
	if !json.Valid(raw) {
		return nil, ErrBadResult
	}
	ours := m.appendJSON(make([]byte, 0, 320))
	var metaVal []byte
	metaStart := -1
	ok := jsonscan.Members(raw, func(key, val []byte, start int) bool {
		if jsonscan.KeyIs(key, "_meta") {
			metaVal, metaStart = val, start
		}
		return true
	})
	if !ok {
		return nil, ErrBadResult
	}
	out := make([]byte, 0, len(raw)+len(ours)+16)
	if metaStart < 0 { // the common case: insert "_meta" before the closing brace
		body := bytes.TrimRight(raw, " \t\r\n")
		body = body[:len(body)-1]
		out = append(out, body...)
		if len(bytes.TrimSpace(body)) > 1 { // not "{"
			out = append(out, ',')
		}
		out = append(out, `"_meta":`...)
		out = append(out, ours...)
		return append(out, '}'), nil
	}
	merged := mergeMeta(ours, metaVal)
	out = append(out, raw[:metaStart]...)
	out = append(out, merged...)
	return append(out, raw[metaStart+len(metaVal):]...), nil
}

// mergeMeta returns ours plus the members of theirs (if an object) whose
// keys ours does not have.
func mergeMeta(ours, theirs []byte) []byte {
	out := ours[:len(ours)-1] // drop "}"
	jsonscan.Members(theirs, func(key, val []byte, _ int) bool {
		var k string
		if json.Unmarshal(key, &k) != nil || ourKey(k) {
			return true
		}
		out = append(out, ',')
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, val...)
		return true
	})
	return append(out, '}')
}

// ourKey reports whether k is one of the keys appendJSON writes.
func ourKey(k string) bool {
	switch k {
	case MetaPrefix + "queue_wait_ms", MetaPrefix + "duration_ms", MetaPrefix + "attempts",
		MetaPrefix + "deduplicated", MetaPrefix + "replayed", MetaPrefix + "cached",
		MetaPrefix + "stale", MetaPrefix + "priority", MetaPrefix + "kind", MetaPrefix + "cache_expires":
		return true
	}
	return false
}

// appendJSON appends m as a JSON object of MetaPrefix keys.
func (m Meta) appendJSON(b []byte) []byte {
	key := func(name string) {
		b = append(b, `"`+MetaPrefix...)
		b = append(b, name...)
		b = append(b, `":`...)
	}
	b = append(b, '{')
	key("queue_wait_ms")
	b = strconv.AppendInt(b, m.QueueWait.Milliseconds(), 10)
	for _, f := range []struct {
		name string
		v    bool
	}{{"deduplicated", m.Deduplicated}, {"replayed", m.Replayed}, {"cached", m.Cached}, {"stale", m.Stale}} {
		b = append(b, ',')
		key(f.name)
		b = strconv.AppendBool(b, f.v)
	}
	b = append(b, ',')
	key("duration_ms")
	b = strconv.AppendInt(b, m.Duration.Milliseconds(), 10)
	b = append(b, ',')
	key("attempts")
	b = strconv.AppendInt(b, int64(m.Attempts), 10)
	b = append(b, ',')
	key("priority")
	b = strconv.AppendQuote(b, m.Priority)
	b = append(b, ',')
	key("kind")
	b = strconv.AppendQuote(b, m.Kind.String())
	if !m.CacheExpires.IsZero() {
		b = append(b, ',')
		key("cache_expires")
		b = strconv.AppendQuote(b, m.CacheExpires.UTC().Format(time.RFC3339))
	}
	return append(b, '}')
}

// isToolError reports whether a CallToolResult has isError: true.
func isToolError(raw json.RawMessage) bool {
	isErr := false
	jsonscan.Members(raw, func(key, val []byte, _ int) bool {
		if jsonscan.KeyIs(key, "isError") {
			isErr = string(val) == "true"
			return false
		}
		return true
	})
	return isErr
}
