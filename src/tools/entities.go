package tools

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// entityRow is the compact form of an entity in list answers.
type entityRow struct {
	EntityID   string         `json:"entity_id"`
	Name       string         `json:"name"`
	State      string         `json:"state"`
	Area       string         `json:"area,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

func (h *home) row(e *entry) entityRow {
	return entityRow{EntityID: e.st.EntityID, Name: e.name, State: e.st.State,
		Area: h.areaName(h.areaOf(e.st.EntityID)), Attributes: compactAttributes(e.st.EntityID, e.attributes())}
}

func (r entityRow) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %s", r.EntityID, r.Name, formatValue(r.State))
	if r.Area != "" {
		fmt.Fprintf(&b, " [%s]", r.Area)
	}
	if a := formatAttrs(r.Attributes); a != "" {
		b.WriteString(" ")
		b.WriteString(a)
	}
	return b.String()
}

type getEntitiesIn struct {
	Domain      string `json:"domain"`
	Area        string `json:"area"`
	Search      string `json:"search"`
	State       string `json:"state"`
	DeviceClass string `json:"device_class"`
	Limit       int    `json:"limit"`
	Offset      int    `json:"offset"`
}

type getEntitiesOut struct {
	Total      int         `json:"total" jsonschema:"number of entities matching the filters"`
	Offset     int         `json:"offset"`
	Count      int         `json:"count" jsonschema:"number of entities in this answer"`
	NextOffset int         `json:"next_offset,omitempty" jsonschema:"offset of the next page; absent on the last page"`
	Entities   []entityRow `json:"entities"`
}

func (t *Tools) getEntitiesTool() tool[getEntitiesIn, getEntitiesOut] {
	return tool[getEntitiesIn, getEntitiesOut]{
		name:  "get_entities",
		title: "Find entities",
		desc: "List Home Assistant entities (lights, sensors, switches, climate, covers...) with their current state, " +
			"filtered by domain, area, text search, state or device class. Rows are compact: entity_id, name, state, area " +
			"and the few attributes that matter for the domain (brightness_pct for lights, current/target temperature for climate, " +
			"unit and device_class for sensors). The answer gives `total`; when it is larger than `count`, call again with " +
			"`offset` = `next_offset`. Use get_entity_state for every attribute of one entity.",
		input: newInput(
			strParam("domain", "Entity domain, the part of the entity id before the dot.", "a domain like \"light\"", "light", "sensor", "climate", "switch", "cover"),
			strParam("area", "Area id or area name (case-insensitive); see list_areas.", "an area id or name", "living_room", "Kitchen"),
			strParam("search", "Words that must all appear in the entity id or name (case-insensitive).", "some text", "temperature", "ceiling"),
			strParam("state", "Only entities in this state (case-insensitive).", "a state like \"on\"", "on", "off", "unavailable"),
			strParam("device_class", "Only entities with this device_class attribute.", "a device class like \"temperature\"", "temperature", "motion", "door"),
			intParam("limit", "Maximum number of entities to return.", 1, t.cfg.MaxLimit, t.cfg.DefaultLimit),
			intParam("offset", "Number of matching entities to skip (for paging).", 0, 1_000_000, 0),
		),
		ann:  readHints("Find entities"),
		run:  t.getEntities,
		text: getEntitiesText,
	}
}

func (t *Tools) getEntities(ctx context.Context, in *getEntitiesIn) (*getEntitiesOut, error) {
	if in.Domain != "" && !validSlug(strings.ToLower(in.Domain)) {
		return nil, badArg("domain", "must be a domain like \"light\" or \"sensor\", got %q", truncate(in.Domain, 60))
	}
	if in.Limit == 0 {
		in.Limit = t.cfg.DefaultLimit
	}
	out := &getEntitiesOut{Offset: in.Offset}
	err := t.ix.view(ctx, func(h *home) error {
		match, err := t.entityFilter(h, in)
		if err != nil {
			return err
		}
		var matched []*entry
		for _, id := range h.ids {
			if e := h.states[id]; match(e) {
				matched = append(matched, e)
			}
		}
		out.Total = len(matched)
		page := matched[min(in.Offset, len(matched)):min(in.Offset+in.Limit, len(matched))]
		out.Entities = make([]entityRow, 0, len(page))
		for _, e := range page {
			out.Entities = append(out.Entities, h.row(e))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := pageFit(len(out.Entities), t.cfg.MaxAnswerBytes-512, func(i int) int {
		return max(jsonSize(out.Entities[i]), len(out.Entities[i].line()))
	})
	out.Entities = out.Entities[:n]
	out.Count = n
	if in.Offset+n < out.Total {
		out.NextOffset = in.Offset + n
	}
	return out, nil
}

// entityFilter compiles the filters of get_entities.
func (t *Tools) entityFilter(h *home, in *getEntitiesIn) (func(*entry) bool, error) {
	areaID := ""
	if in.Area != "" {
		a, ok := h.findArea(in.Area)
		if !ok {
			return nil, badArg("area", "no area %q; known areas: %s", truncate(in.Area, 60), h.areaList(30))
		}
		areaID = a.AreaID
	}
	domain := strings.ToLower(in.Domain)
	words := strings.Fields(strings.ToLower(in.Search))
	state, class := strings.ToLower(in.State), strings.ToLower(in.DeviceClass)
	return func(e *entry) bool {
		id := e.st.EntityID
		if domain != "" && !strings.HasPrefix(id, domain+".") || !t.pol.visible(id) {
			return false
		}
		if state != "" && strings.ToLower(e.st.State) != state {
			return false
		}
		if class != "" {
			if strings.ToLower(e.deviceClass) != class {
				return false
			}
		}
		for _, w := range words {
			if !strings.Contains(e.search, w) {
				return false
			}
		}
		return areaID == "" || h.areaOf(id) == areaID
	}, nil
}

func getEntitiesText(out *getEntitiesOut) string {
	var b strings.Builder
	switch {
	case out.Total == 0:
		b.WriteString("No entities match.")
	case out.Count == 0:
		fmt.Fprintf(&b, "No entities at offset %d; %d match in total.", out.Offset, out.Total)
	default:
		fmt.Fprintf(&b, "Entities %d-%d of %d (entity_id \"name\" state [area] attributes):", out.Offset+1, out.Offset+out.Count, out.Total)
	}
	for _, r := range out.Entities {
		b.WriteString("\n")
		b.WriteString(r.line())
	}
	if out.NextOffset > 0 {
		fmt.Fprintf(&b, "\nMore: call again with offset=%d.", out.NextOffset)
	}
	return b.String()
}

// entityStateOut is one entity in full.
type entityStateOut struct {
	EntityID     string         `json:"entity_id"`
	Name         string         `json:"name"`
	State        string         `json:"state"`
	Area         string         `json:"area,omitempty"`
	AreaID       string         `json:"area_id,omitempty"`
	Device       string         `json:"device,omitempty"`
	Attributes   map[string]any `json:"attributes"`
	LastChanged  time.Time      `json:"last_changed"`
	LastUpdated  time.Time      `json:"last_updated"`
	LastReported time.Time      `json:"last_reported,omitzero"`
	Shortened    []string       `json:"shortened_attributes,omitempty" jsonschema:"attributes whose long values were replaced by a size note"`
}

type getEntityStateIn struct {
	EntityID string `json:"entity_id"`
}

func (t *Tools) getEntityStateTool() tool[getEntityStateIn, entityStateOut] {
	return tool[getEntityStateIn, entityStateOut]{
		name:  "get_entity_state",
		title: "Read one entity",
		desc: "Read one entity in full: state, every attribute, its area and device, and when it last changed " +
			"(last_changed: the state itself; last_updated: state or attributes). Use get_entities first to find the entity id.",
		input: newInput(strParam("entity_id", "The entity id.", `an entity id like "light.kitchen"`, "light.kitchen", "sensor.living_room_temperature").req()),
		ann:   readHints("Read one entity"),
		run:   t.getEntityState,
		text:  entityStateText,
	}
}

func (t *Tools) getEntityState(ctx context.Context, in *getEntityStateIn) (*entityStateOut, error) {
	id := strings.ToLower(strings.TrimSpace(in.EntityID))
	if !validEntityID(id) {
		return nil, badArg("entity_id", "must be an entity id like \"light.kitchen\", got %q", truncate(in.EntityID, 80))
	}
	var out *entityStateOut
	err := t.ix.view(ctx, func(h *home) error {
		e, err := t.lookup(h, id)
		if err != nil {
			return err
		}
		out = &entityStateOut{EntityID: id, Name: e.name, State: e.st.State, AreaID: h.areaOf(id),
			Attributes: t.pol.scrubMap(e.attributes()), LastChanged: e.st.LastChanged, LastUpdated: e.st.LastUpdated, LastReported: e.st.LastReported}
		out.Area = h.areaName(out.AreaID)
		if re := h.entities[id]; re != nil {
			if d := h.devices[str(re.DeviceID)]; d != nil {
				out.Device = d.displayName()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Attributes, out.Shortened = fitAttributes(out.Attributes, t.cfg.MaxAnswerBytes/2-1024)
	return out, nil
}

// fitAttributes shortens the largest attribute values until all of them
// fit in budget bytes, returning the names of the shortened ones.
func fitAttributes(attrs map[string]any, budget int) (map[string]any, []string) {
	if attrs == nil {
		return map[string]any{}, nil
	}
	if jsonSize(attrs) <= budget {
		return attrs, nil
	}
	out := make(map[string]any, len(attrs))
	var shortened []string
	for k, v := range attrs {
		if n := jsonSize(v); n > maxAttrText*4 {
			out[k] = fmt.Sprintf("<%d bytes omitted; too large for one answer>", n)
			shortened = append(shortened, k)
			continue
		}
		out[k] = v
	}
	return out, sortedCopy(shortened)
}

func entityStateText(out *entityStateOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: %s", out.EntityID, out.Name, formatValue(out.State))
	if out.Area != "" {
		fmt.Fprintf(&b, "\narea: %s (%s)", out.Area, out.AreaID)
	}
	if out.Device != "" {
		fmt.Fprintf(&b, "\ndevice: %s", out.Device)
	}
	fmt.Fprintf(&b, "\nlast_changed: %s\nlast_updated: %s", out.LastChanged.Format(time.RFC3339), out.LastUpdated.Format(time.RFC3339))
	for _, k := range sortedKeys(out.Attributes) {
		fmt.Fprintf(&b, "\n%s: %s", k, formatValue(out.Attributes[k]))
	}
	return b.String()
}
