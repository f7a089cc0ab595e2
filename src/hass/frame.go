package hass

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// message is one message from Home Assistant, in the auth phase
// (auth_required, auth_ok, auth_invalid) or the command phase (result, event,
// pong). Fields absent from a message stay zero.
type message struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	Success   *bool           `json:"success"`
	Result    json.RawMessage `json:"result"`
	Error     *Error          `json:"error"`
	Event     json.RawMessage `json:"event"`
	HAVersion string          `json:"ha_version"`
	Message   string          `json:"message"`

	// bad is set when the message had a readable id but did not decode.
	bad error
}

// errFrame reports a frame that is neither a JSON object nor a JSON array of
// objects.
var errFrame = errors.New("hass: malformed frame")

// parseFrame decodes one WebSocket text frame. Once the client has announced
// the coalesce_messages feature, Home Assistant may send either a single JSON
// object or a JSON array of them; both come back as a slice in order.
//
// A member that does not decode as a message but still has a readable id
// comes back with bad set, so that its waiter gets an error instead of
// waiting forever; other members are unaffected.
func parseFrame(data []byte) ([]message, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty", errFrame)
	}
	switch trimmed[0] {
	case '{':
		m, err := parseMessage(trimmed)
		if err != nil {
			return nil, err
		}
		return []message{m}, nil
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("%w: %w", errFrame, err)
		}
		ms := make([]message, 0, len(raws))
		var errs []error
		for _, raw := range raws {
			m, err := parseMessage(raw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ms = append(ms, m)
		}
		return ms, errors.Join(errs...)
	default:
		return nil, fmt.Errorf("%w: starts with %q", errFrame, trimmed[0])
	}
}

// parseMessage decodes one message object.
func parseMessage(raw []byte) (message, error) {
	var m message
	err := json.Unmarshal(raw, &m)
	if err == nil {
		return m, nil
	}
	var head struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &head) != nil || head.ID == 0 {
		return message{}, fmt.Errorf("%w: %w", errFrame, err)
	}
	return message{ID: head.ID, Type: head.Type, bad: err}, nil
}

// encodeCommand marshals cmd, which must become a JSON object with a
// non-empty string "type" and no "id" (the connection assigns ids so that
// they increase in the order Home Assistant receives them).
func encodeCommand(cmd any) ([]byte, error) {
	raw, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("hass: encoding command: %w", err)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("hass: command must be a JSON object, got %.40s", raw)
	}
	var head struct {
		Type *string         `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("hass: command must be a JSON object: %w", err)
	}
	if head.Type == nil || *head.Type == "" {
		return nil, errors.New(`hass: command has no "type"`)
	}
	if head.ID != nil {
		return nil, errors.New(`hass: command must not set "id"; the client assigns it`)
	}
	return raw, nil
}

// withID returns the command object cmd (from encodeCommand) with "id"
// inserted as its first member.
func withID(cmd []byte, id int64) []byte {
	out := make([]byte, 0, len(cmd)+24)
	out = append(out, `{"id":`...)
	out = strconv.AppendInt(out, id, 10)
	rest := bytes.TrimLeft(cmd[1:], " \t\r\n")
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// succeeded reports whether m answers its command successfully. A pong
// answers a ping and carries no success flag.
func (m *message) succeeded() bool {
	if m.bad != nil {
		return false
	}
	return m.Type == "pong" || (m.Success != nil && *m.Success)
}

// err returns the *Error of a failed result.
func (m *message) err() error {
	if m.bad != nil {
		return fmt.Errorf("%w: %w", errFrame, m.bad)
	}
	if m.Error != nil {
		return m.Error
	}
	return &Error{Code: "unknown_error", Message: "result without success or error"}
}
