package simhome

import (
	"maps"
	"slices"
)

// Home is the initial content of a fake Home Assistant: its registries, the
// states of its entities and its automation configs. The Server copies it in
// New, so a Home can be reused by several servers and changed afterwards
// without affecting them.
type Home struct {
	LocationName string // get_config location_name; "" = "Home"
	TimeZone     string // get_config time_zone; "" = "Europe/Paris"
	Floors       []Floor
	Areas        []Area
	Devices      []Device
	Entities     []Entity
	// Automations are automation configs as automations.yaml holds them
	// (with "id" and "alias"). Each one also needs an automation.* entity in
	// Entities, or one is created from its alias.
	Automations []map[string]any
	// Scenes are the member states of scene entities, by scene entity id:
	// entity id -> {"state": ..., attribute: value...}, as scenes.yaml
	// holds them. scene.turn_on applies them.
	Scenes map[string]map[string]map[string]any
}

// Floor is one entry of the floor registry.
type Floor struct {
	ID    string
	Name  string
	Level int
	Icon  string
}

// Area is one entry of the area registry.
type Area struct {
	ID      string
	Name    string
	FloorID string
	Icon    string
	Aliases []string
}

// Device is one entry of the device registry.
type Device struct {
	ID           string
	Name         string
	AreaID       string
	Manufacturer string
	Model        string
	SWVersion    string
	Integration  string // the config entry's domain, e.g. "hue"
}

// Entity is one entity: its state machine entry and its entity registry
// entry. AreaID is the entity's own area (overriding its device's).
type Entity struct {
	ID         string
	State      string
	Attributes map[string]any
	AreaID     string
	DeviceID   string
	Platform   string // integration that provides it; "" = the entity's domain
	// NoRegistry leaves the entity out of the entity registry, like a
	// state set through POST /api/states.
	NoRegistry bool
}

// Clone returns a deep copy of h.
func (h *Home) Clone() *Home {
	if h == nil {
		return nil
	}
	c := *h
	c.Floors = slices.Clone(h.Floors)
	c.Areas = slices.Clone(h.Areas)
	for i := range c.Areas {
		c.Areas[i].Aliases = slices.Clone(c.Areas[i].Aliases)
	}
	c.Devices = slices.Clone(h.Devices)
	c.Entities = slices.Clone(h.Entities)
	for i := range c.Entities {
		c.Entities[i].Attributes = deepCopyMap(c.Entities[i].Attributes)
	}
	if h.Scenes != nil {
		c.Scenes = make(map[string]map[string]map[string]any, len(h.Scenes))
		for id, members := range h.Scenes {
			c.Scenes[id] = make(map[string]map[string]any, len(members))
			for e, st := range members {
				c.Scenes[id][e] = deepCopyMap(st)
			}
		}
	}
	c.Automations = make([]map[string]any, len(h.Automations))
	for i, a := range h.Automations {
		c.Automations[i] = deepCopyMap(a)
	}
	return &c
}

// deepCopyMap copies a JSON-like map (maps, slices and scalars).
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return slices.Clone(v)
	case map[string]string:
		return maps.Clone(v)
	default:
		return v
	}
}
