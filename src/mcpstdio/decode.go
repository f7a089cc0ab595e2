package mcpstdio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// maxDepth is the deepest nesting go-sdk's decoder accepts.
const maxDepth = 1000

// decodeRequest decodes a request or notification whose members are only
// "jsonrpc" ("2.0"), "id" (absent, null, a string or an integer of at most
// 15 digits, with nothing to unescape), "method" (a string with nothing to
// unescape) and "params", each at most once, in any order: what MCP
// clients send, the bridge's pool included. raw must be one valid JSON
// value, as the framing reads it. It returns what jsonrpc.DecodeMessage
// returns for raw (FuzzDecodeRequest holds it to that), and ok false for
// anything else, which then goes to jsonrpc.DecodeMessage itself.
func decodeRequest(raw []byte) (_ *jsonrpc.Request, ok bool) {
	var version, id, method, params []byte
	walked := jsonscan.Members(raw, func(key, val []byte, _ int) bool {
		var dst *[]byte
		switch string(key) {
		case `"jsonrpc"`:
			dst = &version
		case `"id"`:
			dst = &id
		case `"method"`:
			dst = &method
		case `"params"`:
			dst = &params
		}
		if dst == nil || *dst != nil {
			ok = false // another member, or one twice
			return false
		}
		*dst, ok = val, true
		return true
	})
	if !walked || !ok || string(version) != `"2.0"` || method == nil || string(params) == "null" ||
		(len(raw) > 2*maxDepth && tooDeep(raw)) {
		return nil, false
	}
	name, ok := plainString(method)
	if !ok {
		return nil, false
	}
	var rid jsonrpc.ID
	if id != nil && string(id) != "null" {
		var v any
		if n, isInt := jsonscan.SmallInt(id); isInt {
			v = float64(n)
		} else if s, isString := plainString(id); isString {
			v = s
		} else {
			return nil, false
		}
		var err error
		if rid, err = jsonrpc.MakeID(v); err != nil {
			return nil, false
		}
	}
	req := &jsonrpc.Request{ID: rid, Method: name}
	if params != nil {
		req.Params = json.RawMessage(bytes.Clone(params))
	}
	return req, true
}

// plainString returns the JSON string quoted if it has nothing to
// unescape and is valid UTF-8 (so decoding it changes nothing).
func plainString(quoted []byte) (string, bool) {
	if len(quoted) < 2 || quoted[0] != '"' {
		return "", false
	}
	s := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// tooDeep reports whether raw nests deeper than go-sdk's decoder accepts,
// counting as it does.
func tooDeep(raw []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > maxDepth {
				return true
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}

// protocolVersion20250618 is the first protocol version without batches.
const protocolVersion20250618 = "2025-06-18"

// batches tracks the calls of each batch read until all have their
// answers, and the protocol version the session negotiated: go-sdk
// refuses batches from 2025-06-18 on, and tells the version only to its
// own transports, so this one reads it from the answer to initialize. It
// is safe for concurrent use.
type batches struct {
	mu      sync.Mutex // guards all below
	pending map[jsonrpc.ID]*batch
	inits   map[jsonrpc.ID]bool // the initialize calls read, until their answers
	version string              // negotiated; "" before initialize
}

// batch is one batch's calls: each id's index in responses.
type batch struct {
	unresolved map[jsonrpc.ID]int
	responses  []*jsonrpc.Response
}

// note remembers the id of an initialize call.
func (b *batches) note(msg jsonrpc.Message) {
	if req, ok := msg.(*jsonrpc.Request); ok && req.Method == "initialize" && req.IsCall() {
		b.mu.Lock()
		if b.inits == nil {
			b.inits = map[jsonrpc.ID]bool{}
		}
		b.inits[req.ID] = true
		b.mu.Unlock()
	}
}

// decode decodes what decodeRequest declined as go-sdk's stdio connection
// does: one message, or a batch (an array) of them, whose calls it then
// tracks.
func (b *batches) decode(raw []byte) ([]jsonrpc.Message, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '[' && trimmed[0] != 'n') {
		msg, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			return nil, err
		}
		b.note(msg)
		return []jsonrpc.Message{msg}, nil
	}
	var elems []json.RawMessage
	if tooDeep(raw) {
		return nil, fmt.Errorf("json: exceeded maximum nesting depth of %d", maxDepth)
	}
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("empty batch")
	}
	msgs := make([]jsonrpc.Message, len(elems))
	for i, e := range elems {
		var err error
		if msgs[i], err = jsonrpc.DecodeMessage(e); err != nil {
			return nil, err
		}
		b.note(msgs[i])
	}
	return msgs, b.track(msgs)
}

// track records the calls of a batch, refusing it after 2025-06-18 was
// negotiated or when an id repeats.
func (b *batches) track(msgs []jsonrpc.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.version >= protocolVersion20250618 {
		return fmt.Errorf("JSON-RPC batching is not supported in %s and later (request version: %s)", protocolVersion20250618, b.version)
	}
	bt := &batch{unresolved: map[jsonrpc.ID]int{}}
	seen := map[jsonrpc.ID]bool{}
	for _, msg := range msgs {
		req, ok := msg.(*jsonrpc.Request)
		if !ok {
			continue
		}
		// Like go-sdk, two notifications (no id) in a batch are a
		// repeated id; unlike it, a notification is not waited for.
		if seen[req.ID] {
			return fmt.Errorf("duplicate message ID %q", req.ID)
		}
		seen[req.ID] = true
		if !req.IsCall() {
			continue
		}
		if _, dup := b.pending[req.ID]; dup {
			return fmt.Errorf("invalid request: batch contains previously seen request %v", req.ID.Raw())
		}
		bt.unresolved[req.ID] = len(bt.responses)
		bt.responses = append(bt.responses, nil)
	}
	if len(bt.responses) == 0 {
		return nil
	}
	if b.pending == nil {
		b.pending = map[jsonrpc.ID]*batch{}
	}
	for id := range bt.unresolved {
		b.pending[id] = bt
	}
	return nil
}

// answer records resp. If it answers a call of a batch, inBatch is true
// and all holds the batch's answers once resp completes it.
func (b *batches) answer(resp *jsonrpc.Response) (all []*jsonrpc.Response, inBatch bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inits[resp.ID] {
		delete(b.inits, resp.ID)
		// Only the first successful initialize sets the version, as in
		// go-sdk's session, which refuses any later one.
		if v := negotiated(resp); b.version == "" {
			b.version = v
		}
	}
	bt, ok := b.pending[resp.ID]
	if !ok {
		return nil, false
	}
	bt.responses[bt.unresolved[resp.ID]] = resp
	delete(bt.unresolved, resp.ID)
	delete(b.pending, resp.ID)
	if len(bt.unresolved) > 0 {
		return nil, true
	}
	return bt.responses, true
}

// negotiated is the protocol version in the answer to initialize, as
// go-sdk's connection learns it: 2025-03-26 when it names none.
func negotiated(resp *jsonrpc.Response) string {
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if resp.Error != nil || json.Unmarshal(resp.Result, &res) != nil {
		return ""
	}
	if res.ProtocolVersion == "" {
		return "2025-03-26"
	}
	return res.ProtocolVersion
}

// encodeBatch renders a batch's answers as one JSON array.
func encodeBatch(resps []*jsonrpc.Response) ([]byte, error) {
	raws := make([]json.RawMessage, len(resps))
	for i, r := range resps {
		var err error
		if raws[i], err = jsonrpc.EncodeMessage(r); err != nil {
			return nil, fmt.Errorf("encoding batch message: %w", err)
		}
	}
	return json.Marshal(raws)
}
