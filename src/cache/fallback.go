package cache

import (
	"encoding/json"
	"fmt"
	"time"
)

// Fallback answers a read that failed because Home Assistant or the
// children could not (the bridge's Fallback hook), following the tool's
// strategy: the last answer for the same key flagged Stale with its Age,
// else an empty list (get_entities, list_areas, list_automations) or a
// minimal one (get_services). It never answers while Config.Reachable
// says Home Assistant is reachable, nor for writes (fail fast), nor
// without Config.Reachable.
func (c *Cache) Fallback(q Query, cause error) (Answer, bool) {
	if c.cfg.Reachable == nil || c.cfg.Reachable() {
		return Answer{}, false
	}
	pol := c.cfg.Policies[q.Tool]
	if pol.Fallback != FallbackCachedOrEmpty && pol.Fallback != FallbackCachedOrMinimal {
		return Answer{}, false
	}
	canon, _, err := Canonical(q.Args)
	if err != nil {
		return Answer{}, false
	}
	c.mu.Lock()
	se, ok := c.stale.get(Key(q.Tool, q.Profile, canon))
	c.mu.Unlock()
	if ok {
		c.m.stale.Inc()
		return Answer{Raw: se.raw, Stale: true, Age: time.Since(se.at)}, true
	}
	raw, ok := emptyAnswer(q.Tool, cause)
	if ok {
		c.m.stale.Inc()
	}
	return Answer{Raw: raw, Stale: true}, ok
}

// emptyAnswers are the structured answers given when nothing is cached,
// shaped like src/tools' outputs.
var emptyAnswers = map[string]any{
	"get_entities":     map[string]any{"total": 0, "offset": 0, "count": 0, "entities": []any{}},
	"list_areas":       map[string]any{"floors": []any{}, "areas": []any{}, "unassigned_entities": 0},
	"list_automations": map[string]any{"total": 0, "offset": 0, "count": 0, "automations": []any{}},
	"get_services": map[string]any{"domains": []any{
		map[string]any{"domain": "homeassistant", "services": []string{"toggle", "turn_off", "turn_on"}},
	}},
}

// emptyAnswer returns a CallToolResult for tool saying Home Assistant is
// unreachable, with an empty (or, for get_services, minimal) answer.
func emptyAnswer(tool string, cause error) (json.RawMessage, bool) {
	sc, ok := emptyAnswers[tool]
	if !ok {
		return nil, false
	}
	text := "Home Assistant is unreachable right now"
	if cause != nil {
		text += fmt.Sprintf(" (%v)", cause)
	}
	text += "; this answer is empty, not the home's real content. Try again later."
	if tool == "get_services" {
		text = "Home Assistant is unreachable right now; only the generic homeassistant services are listed. Try again later."
	}
	raw, err := json.Marshal(map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": text}},
		"structuredContent": sc,
	})
	return raw, err == nil
}
