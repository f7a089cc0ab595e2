package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Limits on client-supplied values.
const (
	maxRequestIDLen  = 256
	maxSessionIDLen  = 128
	maxTimeoutHeader = 24 * time.Hour // larger X-Timeout values are refused; the bridge caps lower ones
)

// callBody is a decoded POST /mcp/tools/call body.
type callBody struct {
	Name      string
	Arguments json.RawMessage // an object or nil
	RequestID string          // "" when absent
	ID        json.RawMessage // request_id as sent, echoed as the JSON-RPC id; nil when absent
}

// parseCallBody decodes a tools/call body strictly: unknown fields are
// refused by name, because a misspelt "arguments" would otherwise run a
// write with no target. "_meta" is accepted and ignored.
func parseCallBody(data []byte) (callBody, error) {
	var raw struct {
		Name      *string         `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		RequestID json.RawMessage `json:"request_id"`
		Meta      json.RawMessage `json:"_meta"`
	}
	if err := decodeStrict(data, &raw); err != nil {
		return callBody{}, err
	}
	if raw.Name == nil || *raw.Name == "" {
		return callBody{}, fmt.Errorf("%w: field \"name\" is required", errBadInput)
	}
	b := callBody{Name: *raw.Name}
	args := bytes.TrimSpace(raw.Arguments)
	switch {
	case len(args) == 0, string(args) == "null":
	case args[0] == '{':
		b.Arguments = args
	default:
		return callBody{}, fmt.Errorf("%w: field \"arguments\" must be a JSON object", errBadInput)
	}
	id, err := parseRequestID(raw.RequestID)
	if err != nil {
		return callBody{}, err
	}
	if id != "" {
		b.RequestID, b.ID = id, bytes.TrimSpace(raw.RequestID)
	}
	return b, nil
}

// parseRequestID accepts a string or an integer, like a JSON-RPC id.
func parseRequestID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
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

// parseInitBody decodes the seed's plain body, or a JSON-RPC initialize
// request whose params hold it. An empty body is an empty request.
func parseInitBody(data []byte) (initBody, error) {
	var b struct {
		initBody
		Params *initBody `json:"params"`
	}
	if len(bytes.TrimSpace(data)) > 0 {
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
	if err != nil || math.IsNaN(secs) || secs <= 0 || secs > maxTimeoutHeader.Seconds() {
		return 0, fmt.Errorf("%w: X-Timeout must be a number of seconds above 0 and at most %v", errBadInput, maxTimeoutHeader.Seconds())
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
