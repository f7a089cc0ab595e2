package cache

import (
	"slices"
	"strings"
)

// Tag names a coarse dependency: everything tagged is dropped together.
type Tag string

// Tags the cache knows; HA-dependent ones are flushed while the event
// subscription is down.
const (
	TagTools     Tag = "tools"      // the children's tool list
	TagServices  Tag = "services"   // Home Assistant's services
	TagRegistry  Tag = "registry"   // entity, device, area, floor and label registries
	TagEntitySet Tag = "entity_set" // which entities exist
)

// Deps is what an answer depends on. The zero value depends on nothing
// (only its TTL ends it).
type Deps struct {
	Entities []string // entity ids, lowercase
	Filters  []Filter // entity lists
	Tags     []Tag
	// AnyState: any state change may change the answer (tools the cache
	// does not know).
	AnyState bool
}

// onHA reports whether d depends on Home Assistant's events, so that it
// must be flushed when they may have been missed.
func (d Deps) onHA() bool {
	if d.AnyState || len(d.Entities) > 0 || len(d.Filters) > 0 {
		return true
	}
	for _, t := range d.Tags {
		if t != TagTools {
			return true
		}
	}
	return false
}

// Filter is the filter of an entity list (get_entities): an entity is in
// the list when it matches every non-empty field. Area is recorded but not
// tested (the event does not say where an entity is), so an area list is
// invalidated by every matching change in its other fields: more often
// than needed, never less.
type Filter struct {
	Domain      string   // lowercase
	State       string   // lowercase
	DeviceClass string   // lowercase
	Search      []string // lowercase words, all of which must appear in "entity_id name"
	Area        string
}

// Snapshot is what the cache needs of one entity's state to decide which
// lists it belongs to. A nil *Snapshot is an entity that does not exist.
type Snapshot struct {
	State       string // as Home Assistant gives it
	Name        string // friendly_name
	DeviceClass string
}

// Matches reports whether the entity id in state s is in f's list.
func (f Filter) Matches(id string, s *Snapshot) bool {
	return f.matches(id, s, "")
}

// searchText is what Search words are looked for in.
func searchText(id string, s *Snapshot) string {
	if s == nil {
		return ""
	}
	return strings.ToLower(id + " " + s.Name)
}

// matches is Matches with searchText(id, s) computed by the caller once
// for every filter (or "" to compute it here if needed).
func (f Filter) matches(id string, s *Snapshot, text string) bool {
	if s == nil {
		return false
	}
	if f.Domain != "" && (!strings.HasPrefix(id, f.Domain) || len(id) <= len(f.Domain) || id[len(f.Domain)] != '.') {
		return false
	}
	if f.State != "" && !strings.EqualFold(s.State, f.State) {
		return false
	}
	if f.DeviceClass != "" && !strings.EqualFold(s.DeviceClass, f.DeviceClass) {
		return false
	}
	if len(f.Search) == 0 {
		return true
	}
	if text == "" {
		text = searchText(id, s)
	}
	for _, w := range f.Search {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// DepsFor returns what an answer of tool with the decoded arguments args
// depends on, for the tools of src/tools; any other tool depends on every
// state and on the registries.
func DepsFor(tool string, args map[string]any) Deps {
	switch tool {
	case ToolsList:
		return Deps{Tags: []Tag{TagTools}}
	case "get_entity_state":
		return Deps{Entities: entityIDs(nil, args["entity_id"]), Tags: []Tag{TagRegistry}}
	case "get_history":
		return Deps{Entities: entityIDs(nil, args["entity_id"]), Tags: []Tag{TagRegistry}}
	case "get_entities":
		return Deps{Filters: []Filter{{
			Domain:      lowerString(args["domain"]),
			State:       lowerString(args["state"]),
			DeviceClass: lowerString(args["device_class"]),
			Search:      strings.Fields(lowerString(args["search"])),
			Area:        lowerString(args["area"]),
		}}, Tags: []Tag{TagRegistry}}
	case "list_automations":
		return Deps{Filters: []Filter{{Domain: "automation"}}, Tags: []Tag{TagRegistry}}
	case "list_areas":
		return Deps{Tags: []Tag{TagRegistry, TagEntitySet}}
	case "get_services":
		return Deps{Tags: []Tag{TagServices}}
	}
	return Deps{AnyState: true, Tags: []Tag{TagRegistry, TagServices}}
}

func lowerString(v any) string {
	s, _ := v.(string)
	return strings.ToLower(strings.TrimSpace(s))
}

// entityIDs appends the lowercase ids in v (a string, possibly
// comma-separated, or a list of strings), sorted and without duplicates.
func entityIDs(ids []string, v any) []string {
	switch v := v.(type) {
	case string:
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
				ids = append(ids, id)
			}
		}
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok {
				ids = entityIDs(ids, s)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// writeContainers are the argument objects of a write that may name its
// targets, besides the top level (as bridge.Locks reads them).
var writeContainers = []string{"target", "data", "service_data"}

// writeTargets returns the entity ids a write names, and broad when it
// also (or only) names areas, devices, floors or labels, or nothing: then
// the cache cannot tell which entities it touches.
func writeTargets(args map[string]any) (ids []string, broad bool) {
	scan := func(m map[string]any) {
		ids = entityIDs(ids, m["entity_id"])
		for _, k := range []string{"area_id", "device_id", "floor_id", "label_id"} {
			if m[k] != nil {
				broad = true
			}
		}
	}
	scan(args)
	for _, name := range writeContainers {
		if m, ok := args[name].(map[string]any); ok {
			scan(m)
		}
	}
	return ids, broad || len(ids) == 0
}
