package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// home is one view of Home Assistant: every state and the registries that
// place entities in devices, areas and floors. The index keeps one up to
// date; without a running index each call loads a fresh one.
type home struct {
	states   map[string]*entry
	ids      []string // sorted entity ids of states
	entities map[string]*regEntity
	devices  map[string]*regDevice
	areas    map[string]*regArea
	areaIDs  []string // area ids sorted by name
	floors   map[string]*regFloor
	loc      *time.Location
	loadedAt time.Time
	// view is how current h is, in Home Assistant's time: the newest
	// last_updated it loaded or time_fired it applied. Answers carry it
	// (ViewTimeMeta) so that the bridge's cache can tell an answer of a
	// connection that lags its own event stream.
	view time.Time
}

// entry is one state with what searches need precomputed. Every MCP
// server process holds one per entity, so it is compact: the attributes
// stay as Home Assistant sent them, as JSON (a fraction of a decoded map's
// size, and nothing the garbage collector must scan), and are decoded only
// for the entities an answer shows.
type entry struct {
	st          compactState
	name        string // friendly_name, or the entity id
	search      string // lowercased "entity_id name"
	deviceClass string // attributes.device_class, which filters and confirmations read
}

// compactState is a state as get_states and state_changed give it, with
// its attributes undecoded.
type compactState struct {
	EntityID     string          `json:"entity_id"`
	State        string          `json:"state"`
	Attributes   json.RawMessage `json:"attributes"`
	LastChanged  time.Time       `json:"last_changed"`
	LastReported time.Time       `json:"last_reported"`
	LastUpdated  time.Time       `json:"last_updated"`
}

func newEntry(st compactState) *entry {
	var known struct {
		FriendlyName any `json:"friendly_name"`
		DeviceClass  any `json:"device_class"`
	}
	_ = json.Unmarshal(st.Attributes, &known) // attributes that are not an object count as none
	name, _ := known.FriendlyName.(string)
	if name == "" {
		name = st.EntityID
	}
	dc, _ := known.DeviceClass.(string)
	return &entry{st: st, name: name, search: strings.ToLower(st.EntityID + " " + name), deviceClass: dc}
}

// attributes decodes the state's attributes; a caller may keep or change
// the map.
func (e *entry) attributes() map[string]any {
	var m map[string]any
	if json.Unmarshal(e.st.Attributes, &m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// attr returns one attribute, or nil.
func (e *entry) attr(key string) any { return e.attributes()[key] }

// regEntity is an entity registry entry (config/entity_registry/list).
type regEntity struct {
	EntityID     string   `json:"entity_id"`
	DeviceID     *string  `json:"device_id"`
	AreaID       *string  `json:"area_id"`
	Labels       []string `json:"labels"`
	Platform     string   `json:"platform"`
	Name         *string  `json:"name"`
	OriginalName *string  `json:"original_name"`
}

// regDevice is a device registry entry (config/device_registry/list).
type regDevice struct {
	ID           string   `json:"id"`
	AreaID       *string  `json:"area_id"`
	Name         *string  `json:"name"`
	NameByUser   *string  `json:"name_by_user"`
	Manufacturer *string  `json:"manufacturer"`
	Model        *string  `json:"model"`
	Labels       []string `json:"labels"`
}

func (d *regDevice) displayName() string {
	switch {
	case d.NameByUser != nil && *d.NameByUser != "":
		return *d.NameByUser
	case d.Name != nil:
		return *d.Name
	}
	return d.ID
}

// regArea is an area registry entry (config/area_registry/list).
type regArea struct {
	AreaID  string   `json:"area_id"`
	Name    string   `json:"name"`
	FloorID *string  `json:"floor_id"`
	Aliases []string `json:"aliases"`
	Labels  []string `json:"labels"`
}

// regFloor is a floor registry entry (config/floor_registry/list).
type regFloor struct {
	FloorID string   `json:"floor_id"`
	Name    string   `json:"name"`
	Level   *int     `json:"level"`
	Aliases []string `json:"aliases"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// MinHomeAssistant is the oldest Home Assistant whose API the tools use:
// the floor registry (config/floor_registry/list, floor_registry_updated)
// and the labels of registry entries came in 2024.4. The add-on's
// config.yaml declares it as homeassistant:, so that the Supervisor does not
// install the add-on beside an older one.
const MinHomeAssistant = "2024.4.0"

// loadHome reads states, registries and the time zone from Home Assistant.
func loadHome(ctx context.Context, ha HomeAssistant, now time.Time) (*home, error) {
	var states []compactState
	if err := ha.Command(ctx, map[string]any{"type": "get_states"}, &states); err != nil {
		return nil, fmt.Errorf("reading states: %w", err)
	}
	h := &home{states: make(map[string]*entry, len(states)), ids: make([]string, 0, len(states)), loadedAt: now}
	for _, st := range states {
		if _, dup := h.states[st.EntityID]; !dup {
			h.ids = append(h.ids, st.EntityID)
		}
		h.states[st.EntityID] = newEntry(st)
		if st.LastUpdated.After(h.view) {
			h.view = st.LastUpdated
		}
	}
	slices.Sort(h.ids)
	if err := h.loadRegistries(ctx, ha); err != nil {
		return nil, err
	}
	var cfg struct {
		TimeZone string `json:"time_zone"`
	}
	h.loc = time.UTC
	if err := ha.Command(ctx, map[string]any{"type": "get_config"}, &cfg); err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	if loc, err := time.LoadLocation(cfg.TimeZone); err == nil && cfg.TimeZone != "" {
		h.loc = loc
	}
	return h, nil
}

func (h *home) loadRegistries(ctx context.Context, ha HomeAssistant) error {
	var (
		ents    []*regEntity
		devices []*regDevice
		areas   []*regArea
		floors  []*regFloor
	)
	for _, r := range []struct {
		typ string
		out any
	}{
		{"config/entity_registry/list", &ents},
		{"config/device_registry/list", &devices},
		{"config/area_registry/list", &areas},
		{"config/floor_registry/list", &floors},
	} {
		if err := ha.Command(ctx, map[string]any{"type": r.typ}, r.out); err != nil {
			return fmt.Errorf("reading %s: %w", r.typ, err)
		}
	}
	h.entities = byKey(ents, func(e *regEntity) string { return e.EntityID })
	h.devices = byKey(devices, func(d *regDevice) string { return d.ID })
	h.areas = byKey(areas, func(a *regArea) string { return a.AreaID })
	h.floors = byKey(floors, func(f *regFloor) string { return f.FloorID })
	h.areaIDs = h.areaIDs[:0]
	for id := range h.areas {
		h.areaIDs = append(h.areaIDs, id)
	}
	slices.SortFunc(h.areaIDs, func(a, b string) int {
		return strings.Compare(strings.ToLower(h.areas[a].Name)+"\x00"+a, strings.ToLower(h.areas[b].Name)+"\x00"+b)
	})
	return nil
}

func byKey[T any](items []*T, key func(*T) string) map[string]*T {
	m := make(map[string]*T, len(items))
	for _, it := range items {
		if it != nil {
			m[key(it)] = it
		}
	}
	return m
}

// apply records one state_changed event, fired at fired. A state older
// than the one held (an event queued while a snapshot was read) is ignored.
func (h *home) apply(data json.RawMessage, fired time.Time) error {
	var ch struct {
		EntityID string        `json:"entity_id"`
		NewState *compactState `json:"new_state"`
	}
	if err := json.Unmarshal(data, &ch); err != nil {
		return fmt.Errorf("decoding state_changed: %w", err)
	}
	if fired.After(h.view) {
		h.view = fired
	}
	if ch.NewState != nil && ch.NewState.LastUpdated.After(h.view) {
		h.view = ch.NewState.LastUpdated
	}
	id := ch.EntityID
	i, found := slices.BinarySearch(h.ids, id)
	if ch.NewState == nil {
		if found {
			h.ids = slices.Delete(h.ids, i, i+1)
			delete(h.states, id)
		}
		return nil
	}
	if old, ok := h.states[id]; ok && old.st.LastUpdated.After(ch.NewState.LastUpdated) {
		return nil
	}
	if !found {
		h.ids = slices.Insert(h.ids, i, id)
	}
	h.states[id] = newEntry(*ch.NewState)
	return nil
}

// areaOf returns the entity's area id: its own, else its device's.
func (h *home) areaOf(id string) string {
	re := h.entities[id]
	if re == nil {
		return ""
	}
	if a := str(re.AreaID); a != "" {
		return a
	}
	if d := h.devices[str(re.DeviceID)]; d != nil {
		return str(d.AreaID)
	}
	return ""
}

// areaName returns the name of an area id, or "".
func (h *home) areaName(areaID string) string {
	if a := h.areas[areaID]; a != nil {
		return a.Name
	}
	return ""
}

// findArea resolves an area argument: an area id, a name or an alias,
// case-insensitively.
func (h *home) findArea(q string) (*regArea, bool) {
	if a, ok := h.areas[q]; ok {
		return a, true
	}
	lq := strings.ToLower(strings.TrimSpace(q))
	for _, id := range h.areaIDs {
		a := h.areas[id]
		if strings.ToLower(a.Name) == lq || strings.ToLower(a.AreaID) == lq {
			return a, true
		}
		for _, al := range a.Aliases {
			if strings.ToLower(al) == lq {
				return a, true
			}
		}
	}
	return nil, false
}

// areaList names known areas for an error message, at most n of them.
func (h *home) areaList(n int) string {
	var names []string
	for _, id := range h.areaIDs {
		if len(names) == n {
			names = append(names, "…")
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", h.areas[id].Name, id))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
