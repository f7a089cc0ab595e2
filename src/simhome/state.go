package simhome

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// haContext is core.Context as Home Assistant serialises it.
type haContext struct {
	ID       string  `json:"id"`
	ParentID *string `json:"parent_id"`
	UserID   *string `json:"user_id"`
}

// entityState is one entry of the state machine. It is immutable once
// stored (sealed): a change replaces the pointer, so snapshots in history
// and events can share it, and its JSON is computed once.
type entityState struct {
	EntityID     string
	State        string
	Attributes   map[string]any
	LastChanged  time.Time
	LastReported time.Time
	LastUpdated  time.Time
	Context      haContext
	js           []byte // State.as_dict JSON, set by seal
}

// seal computes the JSON of a state about to be stored; the state must
// not change afterwards.
func (s *entityState) seal() *entityState {
	s.js = s.marshal()
	return s
}

// stateJSON mirrors State.as_dict, field for field and in its order.
type stateJSON struct {
	EntityID     string         `json:"entity_id"`
	State        string         `json:"state"`
	Attributes   map[string]any `json:"attributes"`
	LastChanged  string         `json:"last_changed"`
	LastReported string         `json:"last_reported"`
	LastUpdated  string         `json:"last_updated"`
	Context      haContext      `json:"context"`
}

// MarshalJSON returns the sealed JSON (State.as_dict_json).
func (s *entityState) MarshalJSON() ([]byte, error) {
	if s.js != nil {
		return s.js, nil
	}
	return s.marshal(), nil
}

func (s *entityState) marshal() []byte {
	attrs := s.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := json.Marshal(stateJSON{
		EntityID:     s.EntityID,
		State:        s.State,
		Attributes:   attrs,
		LastChanged:  isoTime(s.LastChanged),
		LastReported: isoTime(s.LastReported),
		LastUpdated:  isoTime(s.LastUpdated),
		Context:      s.Context,
	})
	if err != nil { // attributes are normalised JSON values
		return []byte("null")
	}
	return b
}

// statesJSON joins sealed states into a JSON array, as get_states does.
func statesJSON(states []*entityState) []byte {
	n := 2
	for _, st := range states {
		n += len(st.js) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, st := range states {
		if i > 0 {
			b = append(b, ',')
		}
		js, _ := st.MarshalJSON()
		b = append(b, js...)
	}
	return append(b, ']')
}

// isoTime formats t like Python's datetime.isoformat() on an aware UTC
// datetime: microseconds only when non-zero, and "+00:00".
func isoTime(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

// parseISOTime parses the datetimes Home Assistant accepts in URLs and
// queries (dt_util.parse_datetime): RFC 3339 with or without fraction, with
// an offset or "Z", or a date alone (midnight UTC).
func parseISOTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	layouts := []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999-07:00",
		"2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// normalizeJSON turns a Go value into the JSON-native form the fake works
// on (map[string]any, []any, string, bool, json.Number, nil), so values from
// Go callers and from the wire behave the same.
func normalizeJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return decodeJSON(b)
}

// decodeJSON decodes b keeping numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// normalizeAttrs is normalizeJSON for an attribute map; values that cannot
// be encoded are dropped rather than poisoning every later get_states.
func normalizeAttrs(attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if n, err := normalizeJSON(v); err == nil {
			out[k] = n
		}
	}
	return out
}

// splitEntityID splits "light.kitchen" into its domain and object id.
func splitEntityID(id string) (domain, object string, ok bool) {
	domain, object, ok = strings.Cut(id, ".")
	return domain, object, ok && validEntityID(id)
}

// validEntityID reports whether id matches core.valid_entity_id:
// lowercase letters, digits and underscores, with no leading, trailing or
// double underscore in the domain, then a dot and an object id.
func validEntityID(id string) bool {
	domain, object, ok := strings.Cut(id, ".")
	if !ok || !validDomain(domain) || object == "" {
		return false
	}
	if strings.HasPrefix(object, "_") || strings.HasSuffix(object, "_") {
		return false
	}
	for _, r := range object {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func validDomain(d string) bool {
	if d == "" || strings.HasPrefix(d, "_") || strings.HasSuffix(d, "_") || strings.Contains(d, "__") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// slugify is a small version of homeassistant.util.slugify: lowercase, runs
// of anything else than letters and digits become one underscore.
func slugify(s string) string {
	var b strings.Builder
	pending := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(r)
			continue
		}
		pending = true
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
