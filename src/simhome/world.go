package simhome

import (
	"encoding/json"
	"maps"
	"strconv"
	"time"
)

// world is everything a Server knows: the state machine, registries,
// history, subscriptions. Server.mu guards it; methods ending in Locked
// expect that lock held.
type world struct {
	ids     idGen
	userID  string
	home    homeInfo
	states  map[string]*entityState
	order   []string // entity ids in insertion order, like the state machine
	reg     registries
	history map[string][]*entityState
	logbook []logEntry
	autos   *automationStore
	scenes  map[string]map[string]map[string]any // scene -> member -> state and attributes

	memory map[string]map[string]any // attributes a light restores on turn_on

	calls    []ServiceCall
	failures map[string]string        // "domain.service" -> message
	hangs    map[string]chan struct{} // "domain.service" -> closed by ReleaseServices

	conns map[*conn]struct{}
	subs  []*subscription
}

// homeInfo is the part of Home that get_config reports.
type homeInfo struct {
	locationName string
	timeZone     string
}

// event is one event on the bus.
type event struct {
	Type      string
	Data      any
	TimeFired time.Time
	Context   haContext
}

// MarshalJSON follows Event.as_dict (origin is always LOCAL here).
func (e *event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		EventType string    `json:"event_type"`
		Data      any       `json:"data"`
		Origin    string    `json:"origin"`
		TimeFired string    `json:"time_fired"`
		Context   haContext `json:"context"`
	}{e.Type, e.Data, "LOCAL", isoTime(e.TimeFired), e.Context})
}

// stateChangedData is the data of state_changed events.
type stateChangedData struct {
	EntityID string       `json:"entity_id"`
	OldState *entityState `json:"old_state"`
	NewState *entityState `json:"new_state"`
}

func newWorld(h *Home, now time.Time) world {
	w := world{
		ids:      idGen{seed: 0x5eed},
		userID:   stableHex("simhome-user"),
		home:     homeInfo{locationName: h.LocationName, timeZone: h.TimeZone},
		states:   make(map[string]*entityState),
		history:  make(map[string][]*entityState),
		failures: make(map[string]string),
		hangs:    make(map[string]chan struct{}),
		memory:   make(map[string]map[string]any),
		conns:    make(map[*conn]struct{}),
	}
	if w.home.locationName == "" {
		w.home.locationName = "Home"
	}
	if w.home.timeZone == "" {
		w.home.timeZone = "Europe/Paris"
	}
	w.reg = newRegistries(h, now)
	ctx := w.newContextLocked(now, nil)
	for _, e := range h.Entities {
		if !validEntityID(e.ID) {
			continue
		}
		w.storeLocked(nil, e.ID, e.State, normalizeAttrs(e.Attributes), ctx, now, false)
	}
	w.autos = newAutomationStore(h.Automations)
	w.scenes = map[string]map[string]map[string]any{}
	for id, members := range h.Scenes {
		w.scenes[id] = map[string]map[string]any{}
		for e, st := range members {
			w.scenes[id][e] = normalizeAttrs(st)
		}
	}
	return w
}

// newContextLocked returns a fresh context; userID nil for changes that do
// not come from a user (SetState, the initial house).
func (w *world) newContextLocked(now time.Time, userID *string) haContext {
	return haContext{ID: w.ids.ulid(now), UserID: userID}
}

// userContextLocked is the context of a command sent by the token's user.
func (w *world) userContextLocked(now time.Time) haContext {
	u := w.userID
	return w.newContextLocked(now, &u)
}

// storeLocked writes a state like StateMachine.async_set: a new state or
// new attributes replace the entry and fire state_changed; an identical
// write only moves last_reported (and fires state_reported) unless force.
//
// It returns the stored state and whether state_changed was fired.
func (w *world) storeLocked(b *batch, id, state string, attrs map[string]any, ctx haContext, now time.Time, force bool) (*entityState, bool) {
	old := w.states[id]
	if attrs == nil {
		attrs = map[string]any{}
	}
	if old != nil && old.State == state && attrsEqual(old.Attributes, attrs) && !force {
		upd := *old
		upd.LastReported = now
		upd.seal()
		w.states[id] = &upd
		w.fireLocked(b, &event{Type: "state_reported", TimeFired: now, Context: ctx, Data: map[string]any{
			"entity_id": id, "old_last_reported": isoTime(old.LastReported), "new_state": &upd}})
		return &upd, false
	}
	ns := &entityState{EntityID: id, State: state, Attributes: attrs, LastChanged: now,
		LastReported: now, LastUpdated: now, Context: ctx}
	if old != nil && old.State == state {
		ns.LastChanged = old.LastChanged
	}
	ns.seal()
	if old == nil {
		w.order = append(w.order, id)
	}
	w.states[id] = ns
	w.history[id] = appendCapped(w.history[id], ns, maxHistoryPerEntity)
	w.logStateLocked(old, ns)
	w.fireLocked(b, &event{Type: "state_changed", TimeFired: now, Context: ctx,
		Data: stateChangedData{EntityID: id, OldState: old, NewState: ns}})
	w.refreshTemplatesLocked(b, id)
	return ns, true
}

// Bounds of the in-memory recorder: the oldest entries go first.
const (
	maxHistoryPerEntity = 10000
	maxLogbookEntries   = 100000
)

func appendCapped[T any](l []T, v T, limit int) []T {
	if len(l) >= limit {
		l = append(l[:0:0], l[len(l)-limit+1:]...)
	}
	return append(l, v)
}

// removeLocked removes an entity like StateMachine.async_remove.
func (w *world) removeLocked(b *batch, id string, now time.Time) bool {
	old, ok := w.states[id]
	if !ok {
		return false
	}
	delete(w.states, id)
	for i, e := range w.order {
		if e == id {
			w.order = append(w.order[:i:i], w.order[i+1:]...)
			break
		}
	}
	ctx := w.newContextLocked(now, nil)
	w.fireLocked(b, &event{Type: "state_changed", TimeFired: now, Context: ctx,
		Data: stateChangedData{EntityID: id, OldState: old}})
	w.refreshTemplatesLocked(b, id)
	return true
}

// allStatesLocked returns the states in state machine order.
func (w *world) allStatesLocked() []*entityState {
	out := make([]*entityState, 0, len(w.order))
	for _, id := range w.order {
		out = append(out, w.states[id])
	}
	return out
}

// fireLocked sends ev to every matching subscription, in subscription
// order. b may be nil: the messages are then queued at once.
func (w *world) fireLocked(b *batch, ev *event) {
	w.logEventLocked(ev)
	var payload []byte
	for _, sub := range w.subs {
		if !sub.wants(ev.Type) {
			continue
		}
		if payload == nil {
			var err error
			if payload, err = json.Marshal(ev); err != nil {
				return
			}
		}
		msg := eventMessage(sub.id, payload)
		if b == nil {
			sub.c.enqueue(msg)
			continue
		}
		b.add(sub.c, msg)
	}
}

// attrsEqual compares two normalised attribute maps.
func attrsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// copyAttrs returns a shallow copy that a service may change.
func copyAttrs(a map[string]any) map[string]any { return maps.Clone(a) }

// eventMessage is {"id":N,"type":"event","event":<payload>}.
func eventMessage(id int64, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+40)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"type":"event","event":`...)
	b = append(b, payload...)
	return append(b, '}')
}

// batch gathers the messages of one operation per connection, so that
// they reach each connection's queue together and are coalesced into one
// frame when the connection asked for it.
type batch struct {
	order []*conn
	msgs  map[*conn][][]byte
}

func (b *batch) add(c *conn, msg []byte) {
	if b.msgs == nil {
		b.msgs = make(map[*conn][][]byte)
	}
	if _, ok := b.msgs[c]; !ok {
		b.order = append(b.order, c)
	}
	b.msgs[c] = append(b.msgs[c], msg)
}

func (b *batch) flush() {
	for _, c := range b.order {
		c.enqueue(b.msgs[c]...)
	}
	b.order, b.msgs = nil, nil
}
