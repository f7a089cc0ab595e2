package simhome

import (
	"slices"
	"strings"
	"time"
)

// registries holds the floor, area, device and entity registries.
type registries struct {
	created  float64 // created_at/modified_at of every entry, as a timestamp
	floors   []Floor
	areas    []Area
	devices  []Device
	entities []Entity // only those in the entity registry
}

func newRegistries(h *Home, now time.Time) registries {
	r := registries{created: float64(now.UnixMicro()) / 1e6, floors: h.Floors, areas: h.Areas, devices: h.Devices}
	for _, e := range h.Entities {
		if !e.NoRegistry && validEntityID(e.ID) {
			r.entities = append(r.entities, e)
		}
	}
	return r
}

func (r *registries) areasOnFloor(floorID string) []string {
	var out []string
	for _, a := range r.areas {
		if a.FloorID == floorID {
			out = append(out, a.ID)
		}
	}
	return out
}

func (r *registries) device(id string) (Device, bool) {
	for _, d := range r.devices {
		if d.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// entityArea is the entity's own area, else its device's.
func (r *registries) entityArea(e Entity) string {
	if e.AreaID != "" {
		return e.AreaID
	}
	if d, ok := r.device(e.DeviceID); ok {
		return d.AreaID
	}
	return ""
}

// entitiesIn returns the entities of the given devices or areas, like
// async_extract_referenced_entity_ids (an entity with its own area is not
// taken from its device's area).
func (r *registries) entitiesIn(deviceIDs, areaIDs []string) []string {
	if len(deviceIDs) == 0 && len(areaIDs) == 0 {
		return nil
	}
	var out []string
	for _, e := range r.entities {
		area := r.entityArea(e)
		if e.DeviceID != "" && slices.Contains(deviceIDs, e.DeviceID) || area != "" && slices.Contains(areaIDs, area) {
			out = append(out, e.ID)
		}
	}
	return out
}

// entry returns the registry entry of an entity id.
func (r *registries) entry(id string) (Entity, bool) {
	for _, e := range r.entities {
		if e.ID == id {
			return e, true
		}
	}
	return Entity{}, false
}

func (r *registries) addEntity(e Entity) {
	if _, ok := r.entry(e.ID); !ok {
		r.entities = append(r.entities, e)
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// floorList is config/floor_registry/list (FloorEntry as_dict).
func (r *registries) floorList() []any {
	out := make([]any, 0, len(r.floors))
	for _, f := range r.floors {
		out = append(out, map[string]any{"aliases": []string{}, "created_at": r.created, "floor_id": f.ID,
			"icon": nullable(f.Icon), "level": f.Level, "modified_at": r.created, "name": f.Name})
	}
	return out
}

// areaList is config/area_registry/list.
func (r *registries) areaList() []any {
	out := make([]any, 0, len(r.areas))
	for _, a := range r.areas {
		aliases := a.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		out = append(out, map[string]any{"aliases": aliases, "area_id": a.ID, "created_at": r.created,
			"floor_id": nullable(a.FloorID), "humidity_entity_id": nil, "icon": nullable(a.Icon), "labels": []string{},
			"modified_at": r.created, "name": a.Name, "picture": nil, "temperature_entity_id": nil})
	}
	return out
}

// deviceList is config/device_registry/list (DeviceEntry.dict_repr).
func (r *registries) deviceList() []any {
	out := make([]any, 0, len(r.devices))
	for _, d := range r.devices {
		entry := configEntryID(d.Integration)
		out = append(out, map[string]any{"area_id": nullable(d.AreaID), "configuration_url": nil,
			"config_entries": []string{entry}, "config_entries_subentries": map[string][]any{entry: {nil}},
			"connections": []any{}, "created_at": r.created, "disabled_by": nil, "entry_type": nil,
			"hw_version": nil, "id": d.ID, "identifiers": []any{[]string{d.Integration, d.ID}}, "labels": []string{},
			"manufacturer": nullable(d.Manufacturer), "model": nullable(d.Model), "model_id": nil,
			"modified_at": r.created, "name_by_user": nil, "name": d.Name, "primary_config_entry": entry,
			"serial_number": nil, "sw_version": nullable(d.SWVersion), "via_device_id": nil})
	}
	return out
}

// entityList is config/entity_registry/list (RegistryEntry.as_partial_dict).
func (r *registries) entityList() []any {
	out := make([]any, 0, len(r.entities))
	for _, e := range r.entities {
		domain, object, _ := strings.Cut(e.ID, ".")
		platform := e.Platform
		if platform == "" {
			platform = domain
		}
		var entry any
		if e.DeviceID != "" {
			if d, ok := r.device(e.DeviceID); ok {
				entry = configEntryID(d.Integration)
			}
		}
		out = append(out, map[string]any{"area_id": nullable(e.AreaID), "categories": map[string]any{},
			"config_entry_id": entry, "config_subentry_id": nil, "created_at": r.created, "device_id": nullable(e.DeviceID),
			"disabled_by": nil, "entity_category": nil, "entity_id": e.ID, "has_entity_name": false, "hidden_by": nil,
			"icon": nil, "id": stableHex("entity:" + e.ID), "labels": []string{}, "modified_at": r.created, "name": nil,
			"options": map[string]any{}, "original_name": nil, "platform": platform, "translation_key": nil,
			"unique_id": platform + "_" + object})
	}
	return out
}

// configEntryID is a stable config entry id per integration.
func configEntryID(integration string) string {
	return strings.ToUpper(stableHex("entry:" + integration)[:26])
}

func handleAreaList(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.sendResult(cmd.id, c.s.w.reg.areaList())
}

func handleFloorList(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.sendResult(cmd.id, c.s.w.reg.floorList())
}

func handleDeviceList(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.sendResult(cmd.id, c.s.w.reg.deviceList())
}

func handleEntityList(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.sendResult(cmd.id, c.s.w.reg.entityList())
}
