package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

type callServiceIn struct {
	Domain         string          `json:"domain"`
	Service        string          `json:"service"`
	EntityID       json.RawMessage `json:"entity_id"`
	Target         map[string]any  `json:"target"`
	Data           map[string]any  `json:"data"`
	ReturnResponse bool            `json:"return_response"`
	Confirm        bool            `json:"confirm"`
}

// changedRow is an entity whose state a call changed.
type changedRow struct {
	EntityID   string         `json:"entity_id"`
	Name       string         `json:"name"`
	OldState   string         `json:"old_state,omitempty"`
	State      string         `json:"state"`
	Area       string         `json:"area,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

type callServiceOut struct {
	Service  string       `json:"service" jsonschema:"the service called, domain.service"`
	Targets  []string     `json:"targets,omitempty" jsonschema:"the entities the call was aimed at"`
	Changed  []changedRow `json:"changed" jsonschema:"entities whose state changed because of the call"`
	Response any          `json:"response,omitempty" jsonschema:"the service's response data, when return_response was set"`
	Note     string       `json:"note,omitempty"`
}

func (t *Tools) callServiceTool() tool[callServiceIn, callServiceOut] {
	return tool[callServiceIn, callServiceOut]{
		name:  "call_service",
		title: "Call a Home Assistant action",
		desc: "Call a Home Assistant action (service), e.g. light.turn_on, switch.toggle, climate.set_temperature, cover.open_cover, " +
			"scene.turn_on, script.turn_on. Aim it with entity_id, or with target (entity_id, device_id, area_id, floor_id, label_id; " +
			"area names work too); put the service's options in data (see get_services for the fields). The answer lists the " +
			"entities whose state changed. Some actions (unlocking, disarming an alarm, opening a garage door) are refused " +
			"unless you pass \"confirm\": true: ask the user first, then call again with confirm.",
		input: newInput(
			strParam("domain", "The service domain.", `a domain like "light"`, "light", "switch", "climate", "cover").req(),
			strParam("service", "The service name within the domain.", `a service like "turn_on"`, "turn_on", "turn_off", "toggle", "set_temperature").req(),
			entityIDsParam("entity_id", "The entity or entities to act on."),
			objParam("target", "Where to act: entity_id, device_id, area_id, floor_id and/or label_id, each a string or a list.",
				map[string]any{"area_id": "kitchen"}, map[string]any{"entity_id": []any{"light.kitchen", "light.hall"}}),
			objParam("data", "The service's fields.", map[string]any{"brightness_pct": 50}, map[string]any{"temperature": 21}),
			boolParam("return_response", "Ask for the service's response data (for services that return some, like weather.get_forecasts)."),
			boolParam("confirm", "Set to true, after the user agreed, for actions that need confirmation (unlock, disarm, garage doors)."),
		),
		ann:  writeHints("Call a Home Assistant action", true, false),
		run:  t.callService,
		text: callServiceText,
	}
}

// plannedCall is a service call checked against the policy.
type plannedCall struct {
	domain, service string
	target          *targetSpec
	data            map[string]any
	returnResponse  bool
	targets         []string // visible entities reached, for the answer
}

func (t *Tools) callService(ctx context.Context, in *callServiceIn) (*callServiceOut, error) {
	pc, err := t.planCall(ctx, in)
	if err != nil {
		return nil, err
	}
	return t.execute(ctx, pc)
}

// planCall parses the arguments and applies the exposure policy.
func (t *Tools) planCall(ctx context.Context, in *callServiceIn) (*plannedCall, error) {
	if t.pol.readOnly {
		return nil, failf("Home Assistant is exposed read-only: actions are disabled")
	}
	pc := &plannedCall{domain: strings.ToLower(strings.TrimSpace(in.Domain)), service: strings.ToLower(strings.TrimSpace(in.Service)),
		target: &targetSpec{}, returnResponse: in.ReturnResponse}
	if !validSlug(pc.domain) {
		return nil, badArg("domain", `must be a domain like "light", got %q`, truncate(in.Domain, 60))
	}
	if !validSlug(pc.service) {
		return nil, badArg("service", `must be a service name like "turn_on", got %q`, truncate(in.Service, 60))
	}
	if err := pc.parseTargets(in); err != nil {
		return nil, err
	}
	if err := t.checkDomain(pc); err != nil {
		return nil, err
	}
	err := t.ix.view(ctx, func(h *home) error { return t.checkTargets(h, pc, in.Confirm) })
	return pc, err
}

// parseTargets merges entity_id, target and the target keys of data.
func (pc *plannedCall) parseTargets(in *callServiceIn) error {
	if len(in.EntityID) > 0 && string(in.EntityID) != "null" {
		var v any
		if err := json.Unmarshal(in.EntityID, &v); err != nil {
			return badArg("entity_id", "is not valid JSON")
		}
		if err := pc.target.parse("entity_id", map[string]any{"entity_id": v}); err != nil {
			return err
		}
	}
	if err := pc.target.parse("target", in.Target); err != nil {
		return err
	}
	pc.data = maps.Clone(in.Data)
	fromData := map[string]any{}
	for _, k := range targetKeys {
		if v, ok := pc.data[k]; ok {
			fromData[k] = v
			delete(pc.data, k)
		}
	}
	return pc.target.parse("data", fromData)
}

// homeassistantEntityServices are the homeassistant.* services that act
// on their targets' own domains, allowed on visible targets even when the
// homeassistant domain itself is not exposed.
var homeassistantEntityServices = []string{"turn_on", "turn_off", "toggle", "update_entity"}

func (t *Tools) checkDomain(pc *plannedCall) error {
	if t.pol.domainAllowed(pc.domain) {
		return nil
	}
	if pc.domain == "homeassistant" && slices.Contains(homeassistantEntityServices, pc.service) && !pc.target.empty() {
		return nil
	}
	return failf("the %s domain is not exposed: its services cannot be called", pc.domain)
}

// serviceEntityDomain is the domain of the entities a service acts on:
// its own, or any for homeassistant.*.
func serviceEntityDomain(domain string) string {
	if domain == "homeassistant" {
		return ""
	}
	return domain
}

// checkTargets resolves the target, refuses hidden or unknown entities,
// narrows indirect targets to visible entities when some are hidden, and
// enforces confirmation.
func (t *Tools) checkTargets(h *home, pc *plannedCall, confirm bool) error {
	for _, id := range pc.target.entityIDs {
		if _, err := t.lookup(h, id); err != nil {
			return err
		}
	}
	if pc.domain == "script" && !slices.Contains([]string{"turn_on", "turn_off", "toggle", "reload"}, pc.service) {
		if _, err := t.lookup(h, "script."+pc.service); err != nil {
			return err
		}
	}
	if err := h.resolveNames("target", pc.target); err != nil {
		return err
	}
	reached := h.expand(pc.target, serviceEntityDomain(pc.domain))
	for _, id := range reached {
		if t.pol.visible(id) {
			pc.targets = append(pc.targets, id)
		}
	}
	if t.pol.restricted() && pc.target.indirect() {
		if len(pc.targets) == 0 {
			return failf("the target reaches no exposed %s entities", cmpOr(serviceEntityDomain(pc.domain), "matching"))
		}
		pc.target = &targetSpec{entityIDs: pc.targets}
	}
	if confirm {
		return nil
	}
	return t.checkConfirm(h, pc)
}

func (t *Tools) checkConfirm(h *home, pc *plannedCall) error {
	name := pc.domain + "." + pc.service
	if t.pol.serviceNeedsConfirm(pc.domain, pc.service) {
		return failf("%s needs confirmation: ask the user whether to do it, then call again with \"confirm\": true", name)
	}
	if pc.domain != "cover" && pc.domain != "homeassistant" {
		return nil
	}
	for _, id := range pc.targets {
		if !strings.HasPrefix(id, "cover.") {
			continue
		}
		dc := h.states[id].deviceClass
		if t.pol.coverNeedsConfirm(dc) {
			return failf("%s on %s (a %s) needs confirmation: ask the user whether to do it, then call again with \"confirm\": true", name, id, dc)
		}
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func callServiceText(out *callServiceOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Called %s", out.Service)
	if len(out.Targets) > 0 {
		fmt.Fprintf(&b, " on %s", strings.Join(out.Targets, ", "))
	}
	b.WriteString(".")
	if len(out.Changed) == 0 {
		b.WriteString("\nNo state changed.")
	} else {
		b.WriteString("\nChanged (entity_id \"name\" old -> new [area] attributes):")
	}
	for _, c := range out.Changed {
		fmt.Fprintf(&b, "\n%s %q %s -> %s", c.EntityID, c.Name, formatValue(cmpOr(c.OldState, "(new)")), formatValue(c.State))
		if c.Area != "" {
			fmt.Fprintf(&b, " [%s]", c.Area)
		}
		if a := formatAttrs(c.Attributes); a != "" {
			b.WriteString(" " + a)
		}
	}
	if out.Response != nil {
		resp, _ := json.Marshal(out.Response)
		b.WriteString("\nResponse: " + string(resp))
	}
	if out.Note != "" {
		b.WriteString("\n" + out.Note)
	}
	return b.String()
}
