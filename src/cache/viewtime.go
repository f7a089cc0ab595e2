package cache

import (
	"encoding/json"
	"time"
)

// ViewTimeMeta is the _meta key in which a child may say how current its
// view of Home Assistant is: the RFC 3339 time_fired of the newest event it
// had applied when it answered.
const ViewTimeMeta = "io.github.mcp-bridge/view_time"

// DefaultViewTime reads an answer's ViewTimeMeta, or else, for
// get_entity_state, the entity's last_updated (a child that has applied
// the entity's newest change answers that change's time). Other answers
// without ViewTimeMeta report nothing: the cache then relies on dooming
// fills that overlap an event.
func DefaultViewTime(tool string, raw []byte) (time.Time, bool) {
	var r struct {
		Meta map[string]json.RawMessage `json:"_meta"`
		SC   *struct {
			LastUpdated time.Time `json:"last_updated"`
		} `json:"structuredContent"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return time.Time{}, false
	}
	if v, ok := r.Meta[ViewTimeMeta]; ok {
		var t time.Time
		if json.Unmarshal(v, &t) == nil {
			return t, true
		}
	}
	if tool == "get_entity_state" && r.SC != nil && !r.SC.LastUpdated.IsZero() {
		return r.SC.LastUpdated, true
	}
	return time.Time{}, false
}
