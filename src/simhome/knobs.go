package simhome

import (
	"encoding/json"
	"slices"
	"sort"
	"sync/atomic"
)

// SetState writes a state from outside, like a device reporting: it fires
// state_changed to subscribers. nil attrs keeps the current attributes.
// An invalid entity id is ignored.
func (s *Server) SetState(entityID, state string, attrs map[string]any) {
	if !validEntityID(entityID) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var norm map[string]any
	if attrs != nil {
		norm = normalizeAttrs(attrs)
	} else if old := s.w.states[entityID]; old != nil {
		norm = old.Attributes
	}
	now := s.clock()
	var b batch
	s.w.storeLocked(&b, entityID, state, norm, s.w.newContextLocked(now, nil), now, false)
	b.flush()
}

// StateUpdate is one state write of FireStates.
type StateUpdate struct {
	EntityID   string
	State      string
	Attributes map[string]any // nil keeps the current attributes
}

// FireStates applies several state writes as one burst: their events reach
// each connection's queue together, so a connection that negotiated
// coalesce_messages receives them in a single frame.
func (s *Server) FireStates(updates ...StateUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	ctx := s.w.newContextLocked(now, nil)
	var b batch
	for _, u := range updates {
		if !validEntityID(u.EntityID) {
			continue
		}
		attrs := normalizeAttrs(u.Attributes)
		if u.Attributes == nil {
			if old := s.w.states[u.EntityID]; old != nil {
				attrs = old.Attributes
			}
		}
		s.w.storeLocked(&b, u.EntityID, u.State, attrs, ctx, now, false)
	}
	b.flush()
}

// FireEvent fires a custom event on the bus (like the fire_event command),
// with the data normalised to JSON values.
func (s *Server) FireEvent(eventType string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	var b batch
	s.w.fireLocked(&b, &event{Type: eventType, Data: normalizeAttrs(data), TimeFired: now,
		Context: s.w.newContextLocked(now, nil)})
	b.flush()
}

// RemoveState removes an entity; subscribers get a state_changed with a
// null new_state.
func (s *Server) RemoveState(entityID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b batch
	s.w.removeLocked(&b, entityID, s.clock())
	b.flush()
}

// State returns the HA-shaped JSON of an entity's current state.
func (s *Server) State(entityID string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.w.states[entityID]
	if !ok {
		return nil, false
	}
	return mustJSON(st), true
}

// FailService makes domain.service fail with Home Assistant's error for a
// HomeAssistantError raised by the service (code home_assistant_error) and
// this message, until ClearFailures. The call is still recorded.
func (s *Server) FailService(domain, service, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.failures[domain+"."+service] = message
}

// ClearFailures undoes every FailService.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.w.failures)
}

// ServiceCalls returns the service calls that passed validation (and so
// ran, or failed through FailService), oldest first.
func (s *Server) ServiceCalls() []ServiceCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.w.calls)
}

// Connections returns the number of live authenticated WebSocket connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.w.conns {
		if c.authed {
			n++
		}
	}
	return n
}

// Subscriptions returns the number of live subscriptions (subscribe_events
// and render_template) across connections.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.w.subs)
}

// EntityIDs returns the ids of all current states, sorted.
func (s *Server) EntityIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Clone(s.w.order)
	sort.Strings(ids)
	return ids
}

// configDict is hass.config.as_dict().
func (s *Server) configDict() map[string]any {
	s.mu.Lock()
	home := s.w.home
	components := s.w.componentsLocked()
	s.mu.Unlock()
	return map[string]any{
		"allowlist_external_dirs": []string{"/media", "/config/www"}, "allowlist_external_urls": []string{},
		"components": components, "config_dir": "/config", "config_source": "storage", "country": "FR",
		"currency": "EUR", "debug": false, "elevation": 35, "external_url": nil, "internal_url": nil,
		"language": "en", "latitude": 48.8566, "location_name": home.locationName, "longitude": 2.3522,
		"radius": 100, "recovery_mode": false, "safe_mode": false, "state": "RUNNING", "time_zone": home.timeZone,
		"unit_system": map[string]any{"length": "km", "accumulated_precipitation": "mm", "area": "m²", "mass": "g",
			"pressure": "Pa", "temperature": "°C", "volume": "L", "wind_speed": "m/s"},
		"version": s.version, "whitelist_external_dirs": []string{"/media", "/config/www"},
	}
}

// componentsLocked lists loaded integrations: the core ones plus every
// entity domain and device integration.
func (w *world) componentsLocked() []string {
	set := map[string]bool{}
	for _, c := range []string{"api", "auth", "config", "frontend", "history", "http", "logbook",
		"recorder", "websocket_api", "homeassistant", "persistent_notification", "notify", "search"} {
		set[c] = true
	}
	for _, id := range w.order {
		d, _, _ := splitEntityID(id)
		set[d] = true
	}
	for _, d := range w.reg.devices {
		if d.Integration != "" {
			set[d.Integration] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Served returns how many requests of one kind Home Assistant has answered
// (after authentication): a WebSocket command by its type ("get_states",
// "call_service") or a REST request by its route as registered
// ("GET /api/history/period/{start...}"). Tests use it to show what a
// cache spares Home Assistant.
func (s *Server) Served(kind string) int64 {
	if n, ok := s.served.Load(kind); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// count records one request of kind; kinds are the fixed routes and
// command types, so the map stays small.
func (s *Server) count(kind string) {
	n, ok := s.served.Load(kind)
	if !ok {
		n, _ = s.served.LoadOrStore(kind, new(atomic.Int64))
	}
	n.(*atomic.Int64).Add(1)
}
