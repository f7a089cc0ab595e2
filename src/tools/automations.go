package tools

import (
	"context"
	"fmt"
	"strings"
)

type automationRow struct {
	EntityID      string `json:"entity_id"`
	Name          string `json:"name"`
	State         string `json:"state" jsonschema:"on (enabled), off (disabled) or unavailable"`
	ID            string `json:"id,omitempty" jsonschema:"the automation's config id"`
	LastTriggered string `json:"last_triggered,omitempty"`
	Mode          string `json:"mode,omitempty"`
}

func automationOf(e *entry) automationRow {
	r := automationRow{EntityID: e.st.EntityID, Name: e.name, State: e.st.State}
	attrs := e.attributes()
	r.ID, _ = attrs["id"].(string)
	r.LastTriggered, _ = attrs["last_triggered"].(string)
	r.Mode, _ = attrs["mode"].(string)
	return r
}

func (r automationRow) line() string {
	s := fmt.Sprintf("%s %q %s", r.EntityID, r.Name, r.State)
	if r.LastTriggered != "" {
		s += " last_triggered=" + r.LastTriggered
	}
	return s
}

type listAutomationsIn struct {
	Search string `json:"search"`
	State  string `json:"state"`
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

type listAutomationsOut struct {
	Total       int             `json:"total"`
	Offset      int             `json:"offset"`
	Count       int             `json:"count"`
	NextOffset  int             `json:"next_offset,omitempty"`
	Automations []automationRow `json:"automations"`
}

func (t *Tools) listAutomationsTool() tool[listAutomationsIn, listAutomationsOut] {
	return tool[listAutomationsIn, listAutomationsOut]{
		name:  "list_automations",
		title: "List automations",
		desc: "List the home's automations: entity id, name, whether enabled (on) or disabled (off), config id, mode and when " +
			"each last triggered. Filter by words in the id or name, or by state; paged like get_entities.",
		input: newInput(
			strParam("search", "Words that must all appear in the entity id or name.", "some text", "porch", "morning"),
			enumParam("state", "Only enabled (on) or disabled (off) automations.", "on", "off", "unavailable"),
			intParam("limit", "Maximum number of automations to return.", 1, t.cfg.MaxLimit, t.cfg.DefaultLimit),
			intParam("offset", "Number of matching automations to skip.", 0, 1_000_000, 0),
		),
		ann:  readHints("List automations"),
		run:  t.listAutomations,
		text: listAutomationsText,
	}
}

func (t *Tools) listAutomations(ctx context.Context, in *listAutomationsIn) (*listAutomationsOut, error) {
	if in.Limit == 0 {
		in.Limit = t.cfg.DefaultLimit
	}
	out := &listAutomationsOut{Offset: in.Offset, Automations: []automationRow{}}
	err := t.ix.view(ctx, func(h *home) error {
		match, err := t.entityFilter(h, &getEntitiesIn{Domain: "automation", Search: in.Search, State: in.State})
		if err != nil {
			return err
		}
		for _, id := range h.ids {
			if e := h.states[id]; match(e) {
				if out.Total >= in.Offset && len(out.Automations) < in.Limit {
					out.Automations = append(out.Automations, automationOf(e))
				}
				out.Total++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := pageFit(len(out.Automations), t.cfg.MaxAnswerBytes-512, func(i int) int { return jsonSize(out.Automations[i]) })
	out.Automations, out.Count = out.Automations[:n], n
	if in.Offset+n < out.Total {
		out.NextOffset = in.Offset + n
	}
	return out, nil
}

func listAutomationsText(out *listAutomationsOut) string {
	var b strings.Builder
	if out.Total == 0 {
		b.WriteString("No automations match.")
	} else {
		fmt.Fprintf(&b, "Automations %d-%d of %d:", out.Offset+1, out.Offset+out.Count, out.Total)
	}
	for _, r := range out.Automations {
		b.WriteString("\n" + r.line())
	}
	if out.NextOffset > 0 {
		fmt.Fprintf(&b, "\nMore: call again with offset=%d.", out.NextOffset)
	}
	return b.String()
}

type toggleAutomationIn struct {
	EntityID string `json:"entity_id"`
	Enable   *bool  `json:"enable"`
}

type toggleAutomationOut struct {
	EntityID string `json:"entity_id"`
	Name     string `json:"name"`
	OldState string `json:"old_state"`
	State    string `json:"state" jsonschema:"on (enabled) or off (disabled)"`
}

func (t *Tools) toggleAutomationTool() tool[toggleAutomationIn, toggleAutomationOut] {
	return tool[toggleAutomationIn, toggleAutomationOut]{
		name:  "toggle_automation",
		title: "Enable or disable an automation",
		desc: "Enable (enable: true) or disable (enable: false) an automation; without enable, flip it. A disabled automation " +
			"does not trigger. Answers with the automation's new state.",
		input: newInput(
			strParam("entity_id", "The automation's entity id.", `an automation entity id like "automation.porch_light"`, "automation.porch_light_at_sunset").req(),
			boolParam("enable", "true to enable, false to disable; omit to flip."),
		),
		ann: writeHints("Enable or disable an automation", false, false),
		run: t.toggleAutomation,
		text: func(o *toggleAutomationOut) string {
			return fmt.Sprintf("%s %q: %s -> %s", o.EntityID, o.Name, o.OldState, o.State)
		},
	}
}

func (t *Tools) toggleAutomation(ctx context.Context, in *toggleAutomationIn) (*toggleAutomationOut, error) {
	id := strings.ToLower(strings.TrimSpace(in.EntityID))
	if !validEntityID(id) || !strings.HasPrefix(id, "automation.") {
		return nil, badArg("entity_id", `must be an automation entity id like "automation.porch_light", got %q`, truncate(in.EntityID, 80))
	}
	service := "toggle"
	if in.Enable != nil {
		service = map[bool]string{true: "turn_on", false: "turn_off"}[*in.Enable]
	}
	pc := &plannedCall{domain: "automation", service: service, target: &targetSpec{entityIDs: []string{id}}}
	out := &toggleAutomationOut{EntityID: id}
	err := t.ix.view(ctx, func(h *home) error {
		e, err := t.lookup(h, id)
		if err != nil {
			return err
		}
		out.Name, out.OldState, out.State = e.name, e.st.State, e.st.State
		return t.checkTargets(h, pc, false)
	})
	if err != nil {
		return nil, err
	}
	res, err := t.execute(ctx, pc)
	if err != nil {
		return nil, err
	}
	for _, c := range res.Changed {
		if c.EntityID == id {
			out.State = c.State
		}
	}
	return out, nil
}
