package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Limits on client-supplied values.
const (
	maxRequestIDLen  = 256
	maxSessionIDLen  = 128
	minTimeoutHeader = time.Millisecond // smaller X-Timeout values are refused
	maxTimeoutHeader = 24 * time.Hour   // larger X-Timeout values are refused; the bridge caps lower ones
)

// callBody is a decoded POST /mcp/tools/call body.
type callBody struct {
	Name      string
	Arguments json.RawMessage // an object or nil
	RequestID string          // "" when absent
	ID        json.RawMessage // request_id as sent, echoed as the JSON-RPC id; nil when absent
}

// callFields are the keys a tools/call body may have, spelt exactly.
var callFields = []string{"name", "arguments", "request_id", "_meta"}

// parseCallBody decodes a tools/call body strictly: unknown fields are
// refused by name, because a misspelt "arguments" would otherwise run a
// write with no target; so are keys in another case ("Name") and duplicate
// keys, which decoders resolve differently. "_meta" is accepted and ignored.
func parseCallBody(data []byte) (callBody, error) {
	if utf8.Valid(data) && jsonlimit.Check(data, jsonlimit.DefaultMaxDepth) == nil && jsonlimit.ValidUnique(data) {
		if b, ok := plainCallBody(data); ok {
			return b, nil
		}
	}
	return decodeCallBody(data)
}

// plainCallBody reads, without a decoder, the body nearly every client
// sends: a valid object whose keys are callFields as spelt, with a name
// free of escapes, object arguments and a valid request_id. It reports
// false for anything else, which decodeCallBody reads (or refuses, with a
// message that says why). data is valid UTF-8 and JSON, not too deep, with
// no key given twice (what checkJSONText asks). A cache hit spent a quarter
// of its time in the decoder without it.
func plainCallBody(data []byte) (callBody, bool) {
	var name, args, reqID []byte
	plain := true
	ok := jsonscan.Members(data, func(key, val []byte, _ int) bool {
		switch string(key) {
		case `"name"`:
			name = val
		case `"arguments"`:
			args = val
		case `"request_id"`:
			reqID = val
		case `"_meta"`:
		default:
			plain = false
		}
		return plain
	})
	if !ok || !plain || len(name) < 3 || name[0] != '"' || bytes.IndexByte(name, '\\') >= 0 {
		return callBody{}, false
	}
	b := callBody{Name: string(name[1 : len(name)-1])}
	switch {
	case args == nil, string(args) == "null":
	case args[0] == '{':
		b.Arguments = args
	default:
		return callBody{}, false
	}
	id, err := parseRequestID(reqID)
	if err != nil {
		return callBody{}, false
	}
	if id != "" {
		b.RequestID, b.ID = id, reqID
	}
	return b, true
}

// decodeCallBody is parseCallBody with encoding/json's decoder, for every
// body plainCallBody does not read.
func decodeCallBody(data []byte) (callBody, error) {
	fields, err := decodeObject(data, callFields, true)
	if err != nil {
		return callBody{}, err
	}
	var name string
	if raw, ok := fields["name"]; ok {
		if err := json.Unmarshal(raw, &name); err != nil {
			return callBody{}, fmt.Errorf("%w: field \"name\" must be a string", errBadInput)
		}
	}
	if name == "" {
		return callBody{}, fmt.Errorf("%w: field \"name\" is required", errBadInput)
	}
	b := callBody{Name: name}
	args := bytes.TrimSpace(fields["arguments"])
	switch {
	case len(args) == 0, string(args) == "null":
	case args[0] == '{':
		b.Arguments = args
	default:
		return callBody{}, fmt.Errorf("%w: field \"arguments\" must be a JSON object", errBadInput)
	}
	id, err := parseRequestID(fields["request_id"])
	if err != nil {
		return callBody{}, err
	}
	if id != "" {
		b.RequestID, b.ID = id, bytes.TrimSpace(fields["request_id"])
	}
	return b, nil
}

// decodeObject checks that data is one JSON object a child can parse and
// that means the same to every decoder, and returns its members. It refuses
// invalid UTF-8, nesting deeper than jsonlimit.DefaultMaxDepth, duplicate
// keys, and keys that match one of known only when case is ignored (which
// encoding/json would accept). With strict, any key not in known is refused.
func decodeObject(data []byte, known []string, strict bool) (map[string]json.RawMessage, error) {
	if err := checkJSONText(data); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := decodeStrict(data, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object", errBadInput)
	}
	if err := checkFieldNames(fields, known, strict); err != nil {
		return nil, err
	}
	return fields, nil
}

// checkJSONText refuses what the JSON decoders on the way would disagree
// on or fail at: invalid UTF-8 (replaced by some, echoed raw by others),
// deep nesting (which ends a child's decoder), duplicate keys.
func checkJSONText(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: it is not valid UTF-8", errBadJSON)
	}
	if err := jsonlimit.Check(data, jsonlimit.DefaultMaxDepth); err != nil {
		return fmt.Errorf("%w: %w", errBadInput, err)
	}
	if err := jsonlimit.CheckKeys(data); err != nil {
		return fmt.Errorf("%w: %w", errBadInput, err)
	}
	return nil
}

// checkFieldNames refuses keys of fields that differ from a known key in
// case only, and, with strict, any other key not in known.
func checkFieldNames(fields map[string]json.RawMessage, known []string, strict bool) error {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if slices.Contains(known, k) {
			continue
		}
		if i := slices.IndexFunc(known, func(want string) bool { return strings.EqualFold(want, k) }); i >= 0 {
			return fmt.Errorf("%w: unknown field %q (keys are case-sensitive: did you mean %q?)", errBadInput, k, known[i])
		}
		if strict {
			return fmt.Errorf("%w: unknown field %q", errBadInput, k)
		}
	}
	return nil
}

// parseRequestID accepts a string or an integer, like a JSON-RPC id.
// A string must be valid UTF-8: it is echoed as the answer's id as sent.
func parseRequestID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		if !utf8.Valid(raw) {
			return "", fmt.Errorf("%w: field \"request_id\" is not valid UTF-8", errBadInput)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: field \"request_id\": %w", errBadInput, err)
		}
	} else if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		s = string(raw)
	} else {
		return "", fmt.Errorf("%w: field \"request_id\" must be a string or an integer", errBadInput)
	}
	if s == "" || len(s) > maxRequestIDLen {
		return "", fmt.Errorf("%w: field \"request_id\" must be 1 to %d characters", errBadInput, maxRequestIDLen)
	}
	return s, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, with messages that name the offending field.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: the body is empty; expected a JSON object", errBadInput)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: unexpected data after the JSON object", errBadJSON)
	}
	return nil
}

// decodeError turns encoding/json's errors into client messages.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Errorf("%w: the body must be a JSON object", errBadInput)
	case errors.As(err, &typeErr):
		return fmt.Errorf("%w: field %q must be a %s", errBadInput, typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %v", errBadJSON, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%w: %s", errBadInput, strings.TrimPrefix(err.Error(), "json: "))
	}
	return fmt.Errorf("%w: %v", errBadJSON, err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "map", "struct":
		return "JSON object"
	case "slice":
		return "list"
	}
	return "JSON value of another type"
}

// initBody is a decoded POST /mcp/initialize body. Unknown fields are
// ignored: capabilities and clientInfo grow with MCP versions.
type initBody struct {
	ProtocolVersion string          `json:"protocolVersion"`
	Capabilities    json.RawMessage `json:"capabilities"`
	ClientInfo      json.RawMessage `json:"clientInfo"`
	SessionID       *string         `json:"session_id"`
}

// initFields are initialize's keys, spelt exactly: the plain body's, and a
// JSON-RPC request's around its params.
var (
	initFields    = []string{"protocolVersion", "capabilities", "clientInfo", "session_id", "_meta"}
	initRPCFields = append([]string{"jsonrpc", "id", "method", "params"}, initFields...)
)

// parseInitBody decodes the seed's plain body, or a JSON-RPC initialize
// request whose params hold it. An empty body is an empty request. Unknown
// keys are ignored (capabilities and clientInfo grow with MCP versions), but
// known keys in another case and duplicate keys are refused.
func parseInitBody(data []byte) (initBody, error) {
	var b struct {
		initBody
		Params *initBody `json:"params"`
	}
	if len(bytes.TrimSpace(data)) > 0 {
		fields, err := decodeObject(data, initRPCFields, false)
		if err != nil {
			return initBody{}, err
		}
		if params := bytes.TrimSpace(fields["params"]); len(params) > 0 && params[0] == '{' {
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(params, &inner); err != nil {
				return initBody{}, decodeError(err)
			}
			if err := checkFieldNames(inner, initFields, false); err != nil {
				return initBody{}, err
			}
		}
		if err := json.Unmarshal(data, &b); err != nil {
			return initBody{}, decodeError(err)
		}
	}
	if b.Params != nil {
		b.initBody = *b.Params
	}
	if b.SessionID != nil && !validSessionID(*b.SessionID) {
		return initBody{}, fmt.Errorf("%w: session_id must be 1 to %d visible ASCII characters", errBadInput, maxSessionIDLen)
	}
	return b.initBody, nil
}

// validSessionID applies MCP's rule for session ids: visible ASCII
// (0x21-0x7E), here at most 128 characters.
func validSessionID(s string) bool {
	if s == "" || len(s) > maxSessionIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// parsePriorityHeader parses X-Priority; empty means the tool's default.
func parsePriorityHeader(h string) (*queue.Priority, error) {
	if strings.TrimSpace(h) == "" {
		return nil, nil
	}
	p, err := queue.ParsePriority(h)
	if err != nil {
		return nil, fmt.Errorf("%w: X-Priority: want CRITICAL, HIGH, MEDIUM, LOW, BULK or 0-4", errBadInput)
	}
	return &p, nil
}

// parseTimeoutHeader parses X-Timeout, in seconds (fractions allowed);
// empty means the tool's default.
func parseTimeoutHeader(h string) (time.Duration, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, nil
	}
	secs, err := strconv.ParseFloat(h, 64)
	// A value that rounds to less than a millisecond (1e-300) would become
	// a zero Duration, which means "the default": refuse it instead.
	if err != nil || math.IsNaN(secs) || secs < minTimeoutHeader.Seconds() || secs > maxTimeoutHeader.Seconds() {
		return 0, fmt.Errorf("%w: X-Timeout must be a number of seconds from %v to %v",
			errBadInput, minTimeoutHeader.Seconds(), maxTimeoutHeader.Seconds())
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseCacheControl reads the max-age the client accepts for the tool list
// from X-Cache-Control: "no-cache" or "max-age=0" force a fetch, "max-age=N"
// accepts a list up to N seconds old. Without either directive, or with
// malformed ones (ignored, as HTTP caches do), it returns -1: any unexpired
// list.
func parseCacheControl(h string) time.Duration {
	maxAge := time.Duration(-1)
	for d := range strings.SplitSeq(h, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache", "no-store":
			return 0
		case "max-age":
			n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(val), `"`), 10, 32)
			if err == nil {
				maxAge = time.Duration(n) * time.Second
			}
		}
	}
	return maxAge
}
