package cache

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Event is one Home Assistant event, as hass.Event carries it.
type Event struct {
	Type   string          // event_type
	Data   json.RawMessage // data
	Time   time.Time       // time_fired
	Missed bool            // hass's signal that events may have been lost
}

// registryEvents are the events after which registry-shaped answers (names,
// areas, devices) are dropped.
var registryEvents = map[string]bool{
	"entity_registry_updated": true, "device_registry_updated": true, "area_registry_updated": true,
	"floor_registry_updated": true, "label_registry_updated": true, "core_config_updated": true,
}

// OnEvent applies one event from the bridge's own subscription to Home
// Assistant's event bus (all events, or at least state_changed,
// service_registered, service_removed and the registry updates). A Missed
// event flushes what depends on Home Assistant and resumes caching (see
// Resume). Call it from one goroutine, in the order events arrive.
func (c *Cache) OnEvent(ev Event) {
	if ev.Missed {
		c.Resume()
		return
	}
	switch {
	case ev.Type == "state_changed":
		c.stateChanged(ev)
	case ev.Type == "service_registered" || ev.Type == "service_removed" || ev.Type == "component_loaded":
		c.haEvent(TagServices, CauseServices, ev.Time)
	case registryEvents[ev.Type]:
		c.haEvent(TagRegistry, CauseRegistry, ev.Time)
	}
}

func (c *Cache) haEvent(t Tag, cause string, at time.Time) {
	inv := &invalidation{cause: cause}
	c.mu.Lock()
	c.tagLocked(t, mark{local: time.Now(), ha: at}, inv)
	c.mu.Unlock()
	c.done(context.Background(), inv)
}

// haState is the part of a state object the cache reads.
type haState struct {
	State      string `json:"state"`
	Attributes struct {
		FriendlyName any `json:"friendly_name"`
		DeviceClass  any `json:"device_class"`
	} `json:"attributes"`
	LastUpdated time.Time `json:"last_updated"`
}

func (s *haState) snapshot() *Snapshot {
	if s == nil {
		return nil
	}
	name, _ := s.Attributes.FriendlyName.(string)
	class, _ := s.Attributes.DeviceClass.(string)
	return &Snapshot{State: s.State, Name: name, DeviceClass: class}
}

type stateChangedData struct {
	EntityID string   `json:"entity_id"`
	OldState *haState `json:"old_state"`
	NewState *haState `json:"new_state"`
}

// stateChanged invalidates what one state change reaches. Its Home
// Assistant time is the new state's last_updated, which is the time a
// child's answer of that state carries (and, in Home Assistant, the
// event's time_fired); for a removed entity, time_fired. An event the
// cache cannot read drops every state.
func (c *Cache) stateChanged(ev Event) {
	var d stateChangedData
	err := json.Unmarshal(ev.Data, &d)
	id := strings.ToLower(d.EntityID)
	inv := &invalidation{cause: CauseStateChanged}
	m := mark{local: time.Now(), ha: ev.Time}
	if d.NewState != nil && !d.NewState.LastUpdated.IsZero() {
		m.ha = d.NewState.LastUpdated
	}
	ch := change{id: id, old: d.OldState.snapshot(), new: d.NewState.snapshot()}
	c.mu.Lock()
	if err != nil || id == "" {
		c.statesLocked(m, inv)
	} else {
		c.entityLocked(ch, m, inv)
	}
	c.mu.Unlock()
	ctx := context.Background()
	c.done(ctx, inv)
	if c.l2 == nil {
		return
	}
	// Another instance may see this event later than this one (its own
	// connection lags): tell it now.
	if err != nil || id == "" {
		c.publish(ctx, message{Kind: msgStates})
	} else {
		msg := message{Kind: msgChange, IDs: []string{id}, Old: ch.old, New: ch.new}
		if !m.ha.IsZero() {
			msg.HA = m.ha.UnixNano()
		}
		c.publish(ctx, msg)
	}
}
