package tools

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

type createAutomationIn struct {
	Config  any  `json:"config"`
	Confirm bool `json:"confirm"`
}

type createAutomationOut struct {
	ID       string `json:"id" jsonschema:"the automation's config id"`
	EntityID string `json:"entity_id,omitempty" jsonschema:"the new automation entity"`
	Alias    string `json:"alias"`
	State    string `json:"state,omitempty"`
	Note     string `json:"note,omitempty"`
}

// automationExampleYAML shows the config format in the tool description.
const automationExampleYAML = `alias: Porch light at sunset
triggers:
  - trigger: sun
    event: sunset
actions:
  - action: light.turn_on
    target:
      entity_id: light.porch`

func (t *Tools) createAutomationTool() tool[createAutomationIn, createAutomationOut] {
	config := param{name: "config", required: true, hint: "an automation object or YAML text with alias, triggers and actions",
		schema: &jsonschema.Schema{Description: "The automation: an object, or YAML text, with alias, optional description and mode, " +
			"triggers, optional conditions, and actions (Home Assistant's automations.yaml format).",
			AnyOf: []*jsonschema.Schema{
				{Type: "object", Examples: []any{map[string]any{"alias": "Porch light at sunset",
					"triggers": []any{map[string]any{"trigger": "sun", "event": "sunset"}},
					"actions":  []any{map[string]any{"action": "light.turn_on", "target": map[string]any{"entity_id": "light.porch"}}}}}},
				{Type: "string", Examples: []any{automationExampleYAML}},
			}}}
	return tool[createAutomationIn, createAutomationOut]{
		name:  "create_automation",
		title: "Create an automation",
		desc: "Create a new Home Assistant automation. Give its config as an object or as YAML text, e.g.\n" + automationExampleYAML +
			"\nHome Assistant validates it first; if valid it is saved (like the automation editor does) and reloaded, and the " +
			"answer gives the new automation's entity id. Automations that unlock, disarm or open garage doors need \"confirm\": true " +
			"after the user agreed.",
		input: newInput(config.req(),
			boolParam("confirm", "Set to true, after the user agreed, when the automation performs actions that need confirmation.")),
		ann: writeHints("Create an automation", false, false),
		run: t.createAutomation,
		text: func(o *createAutomationOut) string {
			s := fmt.Sprintf("Created automation %q (id %s)", o.Alias, o.ID)
			if o.EntityID != "" {
				s += fmt.Sprintf(": %s, %s", o.EntityID, o.State)
			}
			if o.Note != "" {
				s += ". " + o.Note
			}
			return s
		},
	}
}

func (t *Tools) createAutomation(ctx context.Context, in *createAutomationIn) (*createAutomationOut, error) {
	if t.pol.readOnly {
		return nil, failf("Home Assistant is exposed read-only: automations cannot be created")
	}
	cfg, err := parseAutomationConfig(in.Config)
	if err != nil {
		return nil, badArg("config", "%s", err.Error())
	}
	id, generated, err := t.automationID(cfg)
	if err != nil {
		return nil, err
	}
	err = t.ix.view(ctx, func(h *home) error {
		if id, err = freeAutomationID(h, id, generated); err != nil {
			return err
		}
		return t.checkAutomation(h, cfg, in.Confirm)
	})
	if err != nil {
		return nil, err
	}
	if err := t.validateAutomation(ctx, cfg); err != nil {
		return nil, err
	}
	cfg["id"] = id
	if err := t.ha.REST(ctx, "POST", "/config/automation/config/"+url.PathEscape(id), cfg, nil); err != nil {
		return nil, fmt.Errorf("saving the automation: %w", err)
	}
	if err := t.ha.Command(ctx, map[string]any{"type": "call_service", "domain": "automation", "service": "reload"}, nil); err != nil {
		return nil, fmt.Errorf("reloading automations: %w", err)
	}
	out := &createAutomationOut{ID: id, Alias: cfg["alias"].(string)}
	err = t.ix.view(ctx, func(h *home) error {
		for _, eid := range h.ids {
			e := h.states[eid]
			if strings.HasPrefix(eid, "automation.") && e.attr("id") == id && t.pol.visible(eid) {
				out.EntityID, out.State = eid, e.st.State
			}
		}
		return nil
	})
	if err != nil || out.EntityID == "" {
		out.Note = "Saved, but its entity has not appeared yet; check list_automations."
	}
	return out, nil
}

// automationID returns the config's id, or a new one like the editor's
// (milliseconds since the epoch), and whether it was generated.
func (t *Tools) automationID(cfg map[string]any) (string, bool, error) {
	v, ok := cfg["id"]
	if !ok {
		return strconv.FormatInt(t.cfg.Now().UnixMilli(), 10), true, nil
	}
	id, isStr := v.(string)
	if !isStr || strings.TrimSpace(id) == "" || len(id) > 100 || strings.ContainsAny(id, "/?#%") {
		return "", false, badArg("config", `has an id that is not a short string; leave "id" out and one is chosen`)
	}
	return id, false, nil
}

// freeAutomationID refuses an id given by the caller that an automation
// already uses, and moves a generated one to the next free number.
func freeAutomationID(h *home, id string, generated bool) (string, error) {
	used := map[string]bool{}
	for _, eid := range h.ids {
		if !strings.HasPrefix(eid, "automation.") {
			continue
		}
		if v, ok := h.states[eid].attr("id").(string); ok {
			used[v] = true
		}
	}
	if !used[id] {
		return id, nil
	}
	if !generated {
		return "", badArg("config", "id %q is already used by an automation; leave \"id\" out and a new one is chosen", id)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	for used[strconv.FormatInt(n, 10)] {
		n++
	}
	return strconv.FormatInt(n, 10), nil
}

// validateAutomation asks Home Assistant to check the config.
func (t *Tools) validateAutomation(ctx context.Context, cfg map[string]any) error {
	cmd := map[string]any{"type": "validate_config"}
	for _, k := range []string{"triggers", "conditions", "actions"} {
		if v, ok := cfg[k]; ok {
			cmd[k] = v
		}
	}
	var res map[string]struct {
		Valid bool    `json:"valid"`
		Error *string `json:"error"`
	}
	if err := t.ha.Command(ctx, cmd, &res); err != nil {
		return fmt.Errorf("validating the automation: %w", err)
	}
	var problems []string
	for _, k := range sortedKeys(res) {
		if r := res[k]; !r.Valid {
			problems = append(problems, fmt.Sprintf("%s: %s", k, str(r.Error)))
		}
	}
	if len(problems) > 0 {
		return failf("Home Assistant rejected the automation; nothing was saved. %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkAutomation applies the exposure policy to what an automation
// reads and does: it may not name hidden entities, use templates or
// area-wide targets while some entities are hidden, call services of
// hidden domains, or perform confirm-only actions without confirm.
func (t *Tools) checkAutomation(h *home, cfg map[string]any, confirm bool) error {
	var (
		problem error
		ac      autoCheck
	)
	walkConfig(cfg, "", func(key string, s string) bool {
		if t.pol.restricted() {
			if strings.Contains(s, "{{") || strings.Contains(s, "{%") {
				problem = failf("templates are not allowed in automations while some entities are hidden (blocked_entities or allowed_domains)")
				return false
			}
			if slices.Contains([]string{"area_id", "device_id", "floor_id", "label_id"}, key) {
				problem = failf("%s is not allowed in automations while some entities are hidden; name entities instead", key)
				return false
			}
		}
		for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			if err := t.checkAutomationToken(h, key, strings.ToLower(tok), &ac); err != nil {
				problem = err
				return false
			}
		}
		return true
	})
	if problem != nil {
		return problem
	}
	need := ac.service
	if need == "" && ac.garage != "" && ac.coverAction {
		need = "act on " + ac.garage
	}
	if need != "" && !confirm {
		return failf("this automation would %s, which needs confirmation: ask the user, then call again with \"confirm\": true", need)
	}
	return nil
}

// autoCheck gathers what an automation does that may need confirmation.
type autoCheck struct {
	service     string // a confirm service it calls
	garage      string // a confirm-class cover it names
	coverAction bool   // it calls a cover or homeassistant service
}

// checkAutomationToken checks one word of the config: an entity id or, as
// the value of action/service, a service.
func (t *Tools) checkAutomationToken(h *home, key, tok string, ac *autoCheck) error {
	if key == "action" || key == "service" {
		domain, service, ok := strings.Cut(tok, ".")
		if ok && validSlug(domain) && validSlug(service) {
			if !t.pol.domainAllowed(domain) && !(domain == "homeassistant" && slices.Contains(homeassistantEntityServices, service)) {
				return failf("the automation calls %s, but the %s domain is not exposed", tok, domain)
			}
			if t.pol.serviceNeedsConfirm(domain, service) {
				ac.service = "call " + tok
			}
			ac.coverAction = ac.coverAction || domain == "cover" || domain == "homeassistant"
		}
		return nil
	}
	if !validEntityID(tok) {
		return nil
	}
	e, known := h.states[tok]
	if known && !t.pol.visible(tok) || !known && t.pol.restricted() && !t.pol.visible(tok) {
		return t.unknownEntity(h, tok)
	}
	if known && strings.HasPrefix(tok, "cover.") {
		if t.pol.coverNeedsConfirm(e.deviceClass) {
			ac.garage = tok + " (a " + e.deviceClass + ")"
		}
	}
	return nil
}

// walkConfig calls fn for every string in v with the key it sits under,
// until fn returns false.
func walkConfig(v any, key string, fn func(key, s string) bool) bool {
	switch x := v.(type) {
	case string:
		return fn(key, x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if !fn(k, "") || !walkConfig(x[k], k, fn) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !walkConfig(e, key, fn) {
				return false
			}
		}
	}
	return true
}
