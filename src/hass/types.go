package hass

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is one entity's state as Home Assistant serialises it (core.State.as_dict).
type State struct {
	EntityID     string         `json:"entity_id"`
	State        string         `json:"state"`
	Attributes   map[string]any `json:"attributes"`
	LastChanged  time.Time      `json:"last_changed"`
	LastReported time.Time      `json:"last_reported"`
	LastUpdated  time.Time      `json:"last_updated"`
	Context      Context        `json:"context"`
}

// Context is Home Assistant's event and state context.
type Context struct {
	ID       string  `json:"id"`
	ParentID *string `json:"parent_id"`
	UserID   *string `json:"user_id"`
}

// Event is one event from the Home Assistant event bus, as delivered by subscribe_events.
type Event struct {
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
	Origin    string          `json:"origin"`
	TimeFired time.Time       `json:"time_fired"`
	Context   Context         `json:"context"`

	// Missed is set on a synthetic event that the client delivers after it
	// reconnects: events may have been lost while it was disconnected, so
	// anything derived from them (a cache) must be treated as stale.
	Missed bool `json:"-"`
}

// StateChangedData is the data of a state_changed event. OldState is nil for
// a new entity and NewState is nil for a removed one.
type StateChangedData struct {
	EntityID string `json:"entity_id"`
	OldState *State `json:"old_state"`
	NewState *State `json:"new_state"`
}

// Error is an error answered by Home Assistant: a WebSocket result with
// success false, or a REST response with a non-2xx status (then Code is
// "http_<status>" and StatusCode is set).
type Error struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	StatusCode int    `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("home assistant: %s: %s", e.Code, e.Message)
}
