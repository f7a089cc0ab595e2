package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

type areaRow struct {
	AreaID   string         `json:"area_id"`
	Name     string         `json:"name"`
	FloorID  string         `json:"floor_id,omitempty"`
	Aliases  []string       `json:"aliases,omitempty"`
	Entities int            `json:"entities" jsonschema:"number of entities in the area"`
	Domains  map[string]int `json:"domains,omitempty" jsonschema:"entities per domain"`
}

type floorRow struct {
	FloorID string   `json:"floor_id"`
	Name    string   `json:"name"`
	Level   *int     `json:"level,omitempty"`
	Areas   []string `json:"areas" jsonschema:"area ids on this floor"`
}

type listAreasIn struct{}

type listAreasOut struct {
	Floors     []floorRow `json:"floors"`
	Areas      []areaRow  `json:"areas"`
	Unassigned int        `json:"unassigned_entities" jsonschema:"entities in no area"`
	Note       string     `json:"note,omitempty"`
}

func (t *Tools) listAreasTool() tool[listAreasIn, listAreasOut] {
	return tool[listAreasIn, listAreasOut]{
		name:  "list_areas",
		title: "List areas and floors",
		desc: "List the home's floors and areas (rooms) with their ids, aliases, and how many entities each area holds per domain. " +
			"Area ids and names work as the area filter of get_entities and as area_id targets of call_service.",
		input: newInput(),
		ann:   readHints("List areas and floors"),
		run:   t.listAreas,
		text:  listAreasText,
	}
}

func (t *Tools) listAreas(ctx context.Context, _ *listAreasIn) (*listAreasOut, error) {
	out := &listAreasOut{Floors: []floorRow{}, Areas: []areaRow{}}
	err := t.ix.view(ctx, func(h *home) error {
		rows := map[string]*areaRow{}
		for _, id := range h.areaIDs {
			a := h.areas[id]
			out.Areas = append(out.Areas, areaRow{AreaID: id, Name: a.Name, FloorID: str(a.FloorID), Aliases: a.Aliases})
		}
		for i := range out.Areas {
			rows[out.Areas[i].AreaID] = &out.Areas[i]
		}
		for _, id := range h.ids {
			if !t.pol.visible(id) {
				continue
			}
			r := rows[h.areaOf(id)]
			if r == nil {
				out.Unassigned++
				continue
			}
			if r.Domains == nil {
				r.Domains = map[string]int{}
			}
			domain, _, _ := strings.Cut(id, ".")
			r.Entities++
			r.Domains[domain]++
		}
		out.Floors = floorRows(h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := pageFit(len(out.Areas), t.cfg.MaxAnswerBytes-2048-jsonSize(out.Floors), func(i int) int { return 2 * jsonSize(out.Areas[i]) })
	if n < len(out.Areas) {
		out.Note = fmt.Sprintf("%d more areas not shown.", len(out.Areas)-n)
		out.Areas = out.Areas[:n]
	}
	return out, nil
}

func floorRows(h *home) []floorRow {
	rows := []floorRow{}
	for _, f := range h.floors {
		r := floorRow{FloorID: f.FloorID, Name: f.Name, Level: f.Level, Areas: []string{}}
		for _, id := range h.areaIDs {
			if str(h.areas[id].FloorID) == f.FloorID {
				r.Areas = append(r.Areas, id)
			}
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b floorRow) int {
		la, lb := 0, 0
		if a.Level != nil {
			la = *a.Level
		}
		if b.Level != nil {
			lb = *b.Level
		}
		if la != lb {
			return la - lb
		}
		return strings.Compare(a.FloorID, b.FloorID)
	})
	return rows
}

func listAreasText(out *listAreasOut) string {
	var b strings.Builder
	for _, f := range out.Floors {
		fmt.Fprintf(&b, "floor %s %q", f.FloorID, f.Name)
		if f.Level != nil {
			fmt.Fprintf(&b, " level %d", *f.Level)
		}
		fmt.Fprintf(&b, ": %s\n", strings.Join(f.Areas, ", "))
	}
	for _, a := range out.Areas {
		fmt.Fprintf(&b, "area %s %q", a.AreaID, a.Name)
		if a.FloorID != "" {
			fmt.Fprintf(&b, " floor=%s", a.FloorID)
		}
		if len(a.Aliases) > 0 {
			fmt.Fprintf(&b, " aliases=%s", strings.Join(a.Aliases, "|"))
		}
		fmt.Fprintf(&b, ": %d entities", a.Entities)
		if len(a.Domains) > 0 {
			b.WriteString(" (" + formatCounts(a.Domains) + ")")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d entities in no area.", out.Unassigned)
	if out.Note != "" {
		b.WriteString("\n" + out.Note)
	}
	return b.String()
}

func formatCounts(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

type renderTemplateIn struct {
	Template  string         `json:"template"`
	Variables map[string]any `json:"variables"`
}

type renderTemplateOut struct {
	Result    string `json:"result"`
	Truncated bool   `json:"truncated,omitempty"`
}

// maxTemplateBytes bounds a template argument.
const maxTemplateBytes = 16 << 10

func (t *Tools) renderTemplateTool() tool[renderTemplateIn, renderTemplateOut] {
	return tool[renderTemplateIn, renderTemplateOut]{
		name:  "render_template",
		title: "Render a template",
		desc: "Render a Home Assistant Jinja template and return the text, for questions the other tools cannot answer in one " +
			"call: computations over states (`{{ states.light | selectattr('state','eq','on') | list | count }}`), " +
			"area_entities('kitchen'), state_attr(...), now(), relative_time(...).",
		input: newInput(
			strParam("template", "The Jinja template.", "a template string", "{{ states('sun.sun') }}", "{{ area_entities('kitchen') }}").req(),
			objParam("variables", "Variables available to the template.", map[string]any{"threshold": 20}),
		),
		ann:  readHints("Render a template"),
		run:  t.renderTemplate,
		text: func(o *renderTemplateOut) string { return o.Result },
	}
}

func (t *Tools) renderTemplate(ctx context.Context, in *renderTemplateIn) (*renderTemplateOut, error) {
	if t.pol.restricted() {
		return nil, failf("render_template is disabled while some entities are hidden")
	}
	switch {
	case strings.TrimSpace(in.Template) == "":
		return nil, badArg("template", "is empty; give a Jinja template like \"{{ states('sun.sun') }}\"")
	case len(in.Template) > maxTemplateBytes:
		return nil, badArg("template", "is %d bytes; at most %d are allowed", len(in.Template), maxTemplateBytes)
	}
	res, err := t.ha.RenderTemplate(ctx, in.Template, in.Variables)
	if err != nil {
		return nil, err
	}
	out := &renderTemplateOut{Result: res}
	if limit := t.cfg.MaxAnswerBytes/2 - 256; len(res) > limit {
		out.Result, out.Truncated = truncate(res, limit), true
	}
	return out, nil
}
