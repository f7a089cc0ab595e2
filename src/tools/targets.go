package tools

import (
	"fmt"
	"slices"
	"strings"
)

// targetKeys are the keys of a service target, in Home Assistant's order.
var targetKeys = []string{"entity_id", "device_id", "area_id", "floor_id", "label_id"}

// targetSpec is a service call's target: explicit entities plus the
// devices, areas, floors and labels that expand to entities.
type targetSpec struct {
	entityIDs []string
	all       bool // entity_id "all"
	deviceIDs []string
	areaIDs   []string
	floorIDs  []string
	labelIDs  []string
}

func (ts *targetSpec) indirect() bool {
	return ts.all || len(ts.deviceIDs)+len(ts.areaIDs)+len(ts.floorIDs)+len(ts.labelIDs) > 0
}

func (ts *targetSpec) empty() bool { return !ts.indirect() && len(ts.entityIDs) == 0 }

// parseTarget reads a target object (and the target keys found in data)
// into ts, checking each value's shape. arg names the argument for errors.
func (ts *targetSpec) parse(arg string, m map[string]any) error {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(targetKeys, k) {
			return badArg(arg, "has unknown key %q; allowed keys: %s", k, strings.Join(targetKeys, ", "))
		}
		v := m[k]
		if k == "entity_id" {
			if s, ok := v.(string); ok && strings.TrimSpace(strings.ToLower(s)) == "all" {
				ts.all = true
				continue
			}
			ids, err := entityIDsOf(v)
			if err != nil {
				return badArg(arg, "entity_id %s", err.Error())
			}
			ts.entityIDs = append(ts.entityIDs, ids...)
			continue
		}
		list, err := stringList(v)
		if err != nil {
			return badArg(arg, "%s %s", k, err.Error())
		}
		switch k {
		case "device_id":
			ts.deviceIDs = append(ts.deviceIDs, list...)
		case "area_id":
			ts.areaIDs = append(ts.areaIDs, list...)
		case "floor_id":
			ts.floorIDs = append(ts.floorIDs, list...)
		case "label_id":
			ts.labelIDs = append(ts.labelIDs, list...)
		}
	}
	return nil
}

// entityIDsOf parses an already-decoded entity id value.
func entityIDsOf(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return normalizeEntityIDs(strings.Split(v, ","))
	case []any:
		parts := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is %s; want entity id strings", i, jsonKind(e))
			}
			parts = append(parts, s)
		}
		return normalizeEntityIDs(parts)
	default:
		return nil, fmt.Errorf("is %s; want an entity id or a list of them", jsonKind(v))
	}
}

// resolveNames turns area, floor and device names into ids, refusing
// unknown ones with the list of known ones.
func (h *home) resolveNames(arg string, ts *targetSpec) error {
	for i, a := range ts.areaIDs {
		area, ok := h.findArea(a)
		if !ok {
			return badArg(arg, "area_id %q is not an area; known areas: %s", truncate(a, 60), h.areaList(30))
		}
		ts.areaIDs[i] = area.AreaID
	}
	for i, f := range ts.floorIDs {
		floor, ok := h.findFloor(f)
		if !ok {
			return badArg(arg, "floor_id %q is not a floor; see list_areas", truncate(f, 60))
		}
		ts.floorIDs[i] = floor.FloorID
	}
	for i, d := range ts.deviceIDs {
		dev, ok := h.findDevice(d)
		if !ok {
			return badArg(arg, "device_id %q is not a device id or device name", truncate(d, 60))
		}
		ts.deviceIDs[i] = dev.ID
	}
	return nil
}

func (h *home) findFloor(q string) (*regFloor, bool) {
	if f, ok := h.floors[q]; ok {
		return f, true
	}
	lq := strings.ToLower(strings.TrimSpace(q))
	for _, f := range h.floors {
		if strings.ToLower(f.Name) == lq || slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.ToLower(a) == lq }) {
			return f, true
		}
	}
	return nil, false
}

func (h *home) findDevice(q string) (*regDevice, bool) {
	if d, ok := h.devices[q]; ok {
		return d, true
	}
	lq := strings.ToLower(strings.TrimSpace(q))
	var found *regDevice
	for _, d := range h.devices {
		if strings.ToLower(d.displayName()) == lq {
			if found != nil {
				return nil, false // ambiguous name
			}
			found = d
		}
	}
	return found, found != nil
}

// expand lists the existing entities a target reaches, like Home
// Assistant's async_extract_referenced_entity_ids, keeping those of domain
// (every domain if domain is ""). Explicit entity ids come first.
func (h *home) expand(ts *targetSpec, domain string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if seen[id] || h.states[id] == nil || domain != "" && !strings.HasPrefix(id, domain+".") {
			return
		}
		seen[id] = true
		out = append(out, id)
	}
	for _, id := range ts.entityIDs {
		add(id)
	}
	if !ts.indirect() {
		return out
	}
	areas := map[string]bool{}
	for _, a := range ts.areaIDs {
		areas[a] = true
	}
	for _, a := range h.areas {
		if slices.Contains(ts.floorIDs, str(a.FloorID)) || hasAny(a.Labels, ts.labelIDs) {
			areas[a.AreaID] = true
		}
	}
	for _, id := range h.ids {
		if ts.all || areas[h.areaOf(id)] || h.inDevicesOrLabels(id, ts) {
			add(id)
		}
	}
	return out
}

func (h *home) inDevicesOrLabels(id string, ts *targetSpec) bool {
	re := h.entities[id]
	if re == nil {
		return false
	}
	if hasAny(re.Labels, ts.labelIDs) || slices.Contains(ts.deviceIDs, str(re.DeviceID)) {
		return true
	}
	d := h.devices[str(re.DeviceID)]
	return d != nil && hasAny(d.Labels, ts.labelIDs)
}

func hasAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// wire returns the target as Home Assistant takes it.
func (ts *targetSpec) wire() map[string]any {
	m := map[string]any{}
	if ts.all {
		m["entity_id"] = "all"
	} else if len(ts.entityIDs) > 0 {
		m["entity_id"] = ts.entityIDs
	}
	for k, v := range map[string][]string{"device_id": ts.deviceIDs, "area_id": ts.areaIDs, "floor_id": ts.floorIDs, "label_id": ts.labelIDs} {
		if len(v) > 0 {
			m[k] = v
		}
	}
	return m
}
