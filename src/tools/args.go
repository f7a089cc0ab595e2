package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxEntityIDs bounds one entity id list argument.
const maxEntityIDs = 100

// validEntityID reports whether s is a valid Home Assistant entity id, like
// homeassistant.core.valid_entity_id: "<domain>.<object_id>", both of
// [0-9a-z_], neither starting nor ending with "_", and no "__".
func validEntityID(s string) bool {
	domain, object, ok := strings.Cut(s, ".")
	return ok && validSlug(domain) && validSlug(object) && !strings.Contains(s, "__")
}

// validSlug reports whether s is a domain, service or object id.
func validSlug(s string) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// parseEntityIDs parses an entity id argument: one id, a comma-separated
// string of ids, or a JSON list of ids, the forms Home Assistant's
// cv.entity_ids accepts. Ids are lowercased like cv.entity_id; duplicates
// are dropped, order kept. The error says what is allowed, for the caller
// to prefix with the argument name.
func parseEntityIDs(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	var parts []string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, errors.New(`is empty; give an entity id like "light.kitchen" or a list of them`)
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("is not a valid JSON string: %w", err)
		}
		parts = strings.Split(s, ",")
	case raw[0] == '[':
		var list []any
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("is not a valid JSON list: %w", err)
		}
		for i, v := range list {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is %s; want entity id strings like \"light.kitchen\"", i, jsonKind(v))
			}
			parts = append(parts, s)
		}
	default:
		return nil, errors.New(`must be an entity id string like "light.kitchen" or a list of them`)
	}
	return normalizeEntityIDs(parts)
}

// normalizeEntityIDs trims, lowercases, checks and deduplicates ids.
func normalizeEntityIDs(parts []string) ([]string, error) {
	seen := make(map[string]bool, len(parts))
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		id := strings.ToLower(strings.TrimSpace(p))
		if id == "" {
			continue
		}
		if !validEntityID(id) {
			return nil, fmt.Errorf("has %q, which is not an entity id; want \"<domain>.<object_id>\" of lowercase letters, digits and _, like \"light.kitchen\"", truncate(p, 80))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	switch {
	case len(out) == 0:
		return nil, errors.New(`is empty; give an entity id like "light.kitchen" or a list of them`)
	case len(out) > maxEntityIDs:
		return nil, fmt.Errorf("has %d entity ids; at most %d are allowed", len(out), maxEntityIDs)
	}
	return out, nil
}

// stringList parses a target argument (device_id, area_id...): a string or
// a list of strings; ids stay as given (area and device ids are not slugs).
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, errors.New("is an empty string")
		}
		return []string{strings.TrimSpace(v)}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("item %d is %s; want non-empty strings", i, jsonKind(e))
			}
			out = append(out, strings.TrimSpace(s))
		}
		if len(out) == 0 {
			return nil, errors.New("is an empty list")
		}
		return out, nil
	default:
		return nil, fmt.Errorf("is %s; want a string or a list of strings", jsonKind(v))
	}
}

// jsonKind names the JSON type of a decoded value, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// truncate shortens s to at most n bytes (on a rune boundary), marking the
// cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
