package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
)

// execute runs a planned call and reports the state changes it caused.
//
// Changes are matched by context: Home Assistant writes the states a call
// changes with the call's context id (or, for scripts and automations it
// starts, a child context whose parent is the call's). The subscription is
// made before the call on the same connection, so every change written
// before Home Assistant answered is already queued when the answer comes;
// then targets that have not changed yet get SettleTime to do so.
func (t *Tools) execute(ctx context.Context, pc *plannedCall) (*callServiceOut, error) {
	sub, err := t.ha.Subscribe(ctx, "state_changed")
	if err != nil {
		return nil, fmt.Errorf("subscribing to state changes: %w", err)
	}
	defer sub.Close()
	cmd := map[string]any{"type": "call_service", "domain": pc.domain, "service": pc.service}
	if len(pc.data) > 0 {
		cmd["service_data"] = pc.data
	}
	if tw := pc.target.wire(); len(tw) > 0 {
		cmd["target"] = tw
	}
	if pc.returnResponse {
		cmd["return_response"] = true
	}
	var res struct {
		Context  hass.Context    `json:"context"`
		Response json.RawMessage `json:"response"`
	}
	if err := t.ha.Command(ctx, cmd, &res); err != nil {
		return nil, err
	}
	changes := t.collect(ctx, sub.Events(), res.Context.ID, pc.targets)
	out := &callServiceOut{Service: pc.domain + "." + pc.service, Targets: pc.targets, Changed: []changedRow{}}
	_ = t.ix.view(ctx, func(h *home) error { // for area names; an error only loses them
		for _, c := range changes {
			out.Changed = append(out.Changed, changeRow(h, c))
		}
		return nil
	})
	if len(out.Changed) == 0 {
		for _, c := range changes {
			out.Changed = append(out.Changed, changeRow(nil, c))
		}
	}
	t.fitCallAnswer(out, res.Response)
	return out, nil
}

// collect gathers the visible state changes made under ctxID, waiting up
// to SettleTime for targets that have not changed yet.
func (t *Tools) collect(ctx context.Context, events <-chan hass.Event, ctxID string, targets []string) []hass.StateChangedData {
	var (
		order   []string
		byID    = map[string]*hass.StateChangedData{}
		pending = map[string]bool{}
	)
	for _, id := range targets {
		pending[id] = true
	}
	take := func(ev hass.Event) {
		var d hass.StateChangedData
		if json.Unmarshal(ev.Data, &d) != nil || d.NewState == nil || !t.pol.visible(d.EntityID) {
			return
		}
		if c := d.NewState.Context; c.ID != ctxID && str(c.ParentID) != ctxID {
			return
		}
		delete(pending, d.EntityID)
		if prev, ok := byID[d.EntityID]; ok {
			prev.NewState = d.NewState // keep the first old state, the last new one
			return
		}
		byID[d.EntityID] = &d
		order = append(order, d.EntityID)
	}
	for drained := false; !drained; {
		select {
		case ev, ok := <-events:
			if !ok {
				drained = true
				break
			}
			take(ev)
		default:
			drained = true
		}
	}
	if len(pending) > 0 && ctxID != "" {
		t.settle(ctx, events, take, pending)
	}
	out := make([]hass.StateChangedData, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

func (t *Tools) settle(ctx context.Context, events <-chan hass.Event, take func(hass.Event), pending map[string]bool) {
	timer := time.NewTimer(t.cfg.SettleTime)
	defer timer.Stop()
	for len(pending) > 0 {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			take(ev)
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func changeRow(h *home, c hass.StateChangedData) changedRow {
	name, _ := c.NewState.Attributes["friendly_name"].(string)
	if name == "" {
		name = c.EntityID
	}
	r := changedRow{EntityID: c.EntityID, Name: name, State: c.NewState.State,
		Attributes: compactAttributes(c.EntityID, c.NewState.Attributes)}
	if c.OldState != nil {
		r.OldState = c.OldState.State
	}
	if h != nil {
		r.Area = h.areaName(h.areaOf(c.EntityID))
	}
	return r
}

// fitCallAnswer adds the response and keeps the answer within bounds.
func (t *Tools) fitCallAnswer(out *callServiceOut, response json.RawMessage) {
	budget := t.cfg.MaxAnswerBytes - 1024
	if len(response) > 0 && string(response) != "null" {
		if len(response) > budget/2 {
			out.Note = fmt.Sprintf("The response (%d bytes) is too large for one answer; ask for less (e.g. fewer targets).", len(response))
		} else {
			var v any
			if json.Unmarshal(response, &v) == nil {
				out.Response, _ = t.pol.scrub(v)
				budget -= len(response)
			}
		}
	}
	n := pageFit(len(out.Changed), budget/2, func(i int) int { return jsonSize(out.Changed[i]) })
	if n < len(out.Changed) {
		out.Note = joinNote(out.Note, fmt.Sprintf("%d more entities changed; use get_entities to see them.", len(out.Changed)-n))
		out.Changed = out.Changed[:n]
	}
	if len(out.Changed) == 0 && len(out.Targets) > 0 {
		out.Note = joinNote(out.Note, "No target changed state (it may already have been in that state, or it reports later).")
	}
	if k := pageFit(len(out.Targets), budget/8, func(i int) int { return len(out.Targets[i]) + 3 }); k < len(out.Targets) {
		out.Note = joinNote(out.Note, fmt.Sprintf("The call reached %d entities; %d are listed.", len(out.Targets), k))
		out.Targets = out.Targets[:k]
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
