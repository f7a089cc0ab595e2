package simhome

import (
	"fmt"
	"slices"
	"strings"
)

// Trigger platforms, condition types and action keys the validator knows,
// from homeassistant.helpers.{trigger,condition,script}.
var (
	triggerPlatforms = []string{"calendar", "conversation", "device", "event", "geo_location", "homeassistant",
		"mqtt", "numeric_state", "persistent_notification", "state", "sun", "tag", "template", "time",
		"time_pattern", "webhook", "zone"}
	conditionTypes = []string{"and", "device", "not", "numeric_state", "or", "state", "sun", "template",
		"time", "trigger", "zone"}
	actionKeys = []string{"action", "service", "delay", "wait_template", "wait_for_trigger", "event",
		"condition", "choose", "if", "repeat", "variables", "stop", "parallel", "sequence", "scene",
		"device_id", "set_conversation_response"}
)

// invalidErr is a vol.Invalid: a message and a path.
type invalidErr struct {
	msg  string
	path string
}

func (e *invalidErr) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.msg + " @ data" + e.path
}

func at(path string, key any) string {
	if i, ok := key.(int); ok {
		return fmt.Sprintf("%s[%d]", path, i)
	}
	return fmt.Sprintf("%s['%v']", path, key)
}

// ensureList is cv.ensure_list.
func ensureList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func requireKeys(m map[string]any, path string, keys ...string) error {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return &invalidErr{"required key not provided", at(path, k)}
		}
	}
	return nil
}

func validateTriggers(v any, path string) error {
	for i, t := range ensureList(v) {
		p := at(path, i)
		m, ok := t.(map[string]any)
		if !ok {
			return &invalidErr{"expected a dictionary", p}
		}
		if err := validateTrigger(m, p); err != nil {
			return err
		}
	}
	return nil
}

func validateTrigger(m map[string]any, p string) error {
	platform, _ := m["trigger"].(string)
	if platform == "" {
		platform, _ = m["platform"].(string)
	}
	if platform == "" {
		return &invalidErr{"required key not provided", at(p, "trigger")}
	}
	if !slices.Contains(triggerPlatforms, platform) {
		return &invalidErr{msg: fmt.Sprintf("Invalid trigger '%s' specified", platform)}
	}
	switch platform {
	case "state":
		if err := requireKeys(m, p, "entity_id"); err != nil {
			return err
		}
		return checkEntityIDs(m["entity_id"], at(p, "entity_id"))
	case "numeric_state":
		if err := requireKeys(m, p, "entity_id"); err != nil {
			return err
		}
		return aboveOrBelow(m, p)
	case "event":
		return requireKeys(m, p, "event_type")
	case "time":
		return requireKeys(m, p, "at")
	case "template":
		return requireKeys(m, p, "value_template")
	case "homeassistant", "sun":
		return requireKeys(m, p, "event")
	case "zone":
		return requireKeys(m, p, "entity_id", "zone")
	case "mqtt":
		return requireKeys(m, p, "topic")
	case "webhook":
		return requireKeys(m, p, "webhook_id")
	case "device":
		return requireKeys(m, p, "device_id", "domain")
	}
	return nil
}

func aboveOrBelow(m map[string]any, p string) error {
	_, a := m["above"]
	_, b := m["below"]
	if !a && !b {
		return &invalidErr{"must contain at least one of below, above.", p}
	}
	return nil
}

func checkEntityIDs(v any, path string) error {
	if _, msg := entityIDList(v); msg != "" {
		return &invalidErr{msg, path}
	}
	return nil
}

func validateConditions(v any, path string) error {
	for i, c := range ensureList(v) {
		if err := validateCondition(c, at(path, i)); err != nil {
			return err
		}
	}
	return nil
}

func validateCondition(c any, p string) error {
	if s, ok := c.(string); ok { // template shorthand
		if !strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
			return &invalidErr{"Expected a dictionary", p}
		}
		_, err := parseTemplate(s)
		return invalidFromTemplate(err, p)
	}
	m, ok := c.(map[string]any)
	if !ok {
		return &invalidErr{"Expected a dictionary", p}
	}
	kind, ok := m["condition"].(string)
	if !ok {
		return &invalidErr{"required key not provided", at(p, "condition")}
	}
	if !slices.Contains(conditionTypes, kind) {
		return &invalidErr{msg: fmt.Sprintf("Unexpected value for condition: '%s'. Expected %s", kind, strings.Join(conditionTypes, ", "))}
	}
	switch kind {
	case "and", "or", "not":
		if err := requireKeys(m, p, "conditions"); err != nil {
			return err
		}
		return validateConditions(m["conditions"], at(p, "conditions"))
	case "state":
		if err := requireKeys(m, p, "entity_id", "state"); err != nil {
			return err
		}
		return checkEntityIDs(m["entity_id"], at(p, "entity_id"))
	case "numeric_state":
		if err := requireKeys(m, p, "entity_id"); err != nil {
			return err
		}
		return aboveOrBelow(m, p)
	case "template":
		if err := requireKeys(m, p, "value_template"); err != nil {
			return err
		}
		s, _ := m["value_template"].(string)
		_, err := parseTemplate(s)
		return invalidFromTemplate(err, at(p, "value_template"))
	case "zone":
		return requireKeys(m, p, "entity_id", "zone")
	case "trigger":
		return requireKeys(m, p, "id")
	}
	return nil
}

func isTemplate(v any) bool {
	s, ok := v.(string)
	return ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%"))
}

func invalidFromTemplate(err error, path string) error {
	if err == nil {
		return nil
	}
	return &invalidErr{"invalid template (" + err.Error() + ")", path}
}

func validateActions(v any, path string) error {
	for i, a := range ensureList(v) {
		if err := validateAction(a, at(path, i)); err != nil {
			return err
		}
	}
	return nil
}

// validateAction follows cv.determine_script_action and the schema of
// the action kinds that nest other actions.
func validateAction(a any, p string) error {
	m, ok := a.(map[string]any)
	if !ok {
		return &invalidErr{"expected a dictionary", p}
	}
	kind := ""
	for _, k := range actionKeys {
		if _, ok := m[k]; ok {
			kind = k
			break
		}
	}
	switch kind {
	case "":
		return &invalidErr{"Unable to determine action", p}
	case "action", "service":
		svc, _ := m[kind].(string)
		if d, name, ok := strings.Cut(svc, "."); !isTemplate(svc) && (!ok || !validDomain(d) || name == "") {
			return &invalidErr{fmt.Sprintf("Service %s does not match format <domain>.<name> for dictionary value", svc), at(p, kind)}
		}
		if t, ok := m["target"].(map[string]any); ok && t["entity_id"] != nil && !isTemplate(t["entity_id"]) {
			return checkEntityIDs(t["entity_id"], at(at(p, "target"), "entity_id"))
		}
	case "condition":
		return validateCondition(m, p)
	case "choose", "if", "repeat":
		return validateFlow(kind, m, p)
	case "parallel", "sequence":
		return validateActions(m[kind], at(p, kind))
	case "wait_for_trigger":
		return validateTriggers(m[kind], at(p, kind))
	}
	return nil
}

// validateFlow validates the actions that nest conditions and sequences.
func validateFlow(kind string, m map[string]any, p string) error {
	switch kind {
	case "choose":
		for i, o := range ensureList(m["choose"]) {
			om, _ := o.(map[string]any)
			op := at(at(p, "choose"), i)
			if err := requireKeys(om, op, "conditions", "sequence"); err != nil {
				return err
			}
			if err := validateConditions(om["conditions"], at(op, "conditions")); err != nil {
				return err
			}
			if err := validateActions(om["sequence"], at(op, "sequence")); err != nil {
				return err
			}
		}
		return validateActions(m["default"], at(p, "default"))
	case "if":
		if err := requireKeys(m, p, "then"); err != nil {
			return err
		}
		if err := validateConditions(m["if"], at(p, "if")); err != nil {
			return err
		}
		if err := validateActions(m["then"], at(p, "then")); err != nil {
			return err
		}
		return validateActions(m["else"], at(p, "else"))
	case "repeat":
		r, _ := m["repeat"].(map[string]any)
		if err := requireKeys(r, at(p, "repeat"), "sequence"); err != nil {
			return err
		}
		return validateActions(r["sequence"], at(at(p, "repeat"), "sequence"))
	}
	return nil
}

var validateConfigSchema = []field{{name: "triggers"}, {name: "conditions"}, {name: "actions"}}

// handleValidateConfig answers validate_config with {"valid", "error"} per
// key present in the message.
func handleValidateConfig(c *conn, cmd command) {
	result := map[string]any{}
	checks := []struct {
		key string
		fn  func(any, string) error
	}{{"triggers", validateTriggers}, {"conditions", validateConditions}, {"actions", validateActions}}
	for _, ch := range checks {
		v, ok := cmd.m[ch.key]
		if !ok {
			continue
		}
		if err := ch.fn(v, ""); err != nil {
			result[ch.key] = map[string]any{"valid": false, "error": err.Error()}
		} else {
			result[ch.key] = map[string]any{"valid": true, "error": nil}
		}
	}
	c.sendResult(cmd.id, result)
}

// validateAutomation checks an automation config like the automation
// integration's PLATFORM_SCHEMA, accepting the singular legacy keys.
func validateAutomation(cfg map[string]any) error {
	for _, pair := range [][2]string{{"trigger", "triggers"}, {"condition", "conditions"}, {"action", "actions"}} {
		if v, ok := cfg[pair[0]]; ok {
			if _, both := cfg[pair[1]]; both {
				return &invalidErr{msg: fmt.Sprintf("Cannot specify both '%s' and '%s'. Please use '%s' only.", pair[0], pair[1], pair[1])}
			}
			cfg[pair[1]] = v
			delete(cfg, pair[0])
		}
	}
	if err := requireKeys(cfg, "", "triggers", "actions"); err != nil {
		return err
	}
	if mode, ok := cfg["mode"]; ok && !slices.Contains([]any{"single", "restart", "queued", "parallel"}, mode) {
		return &invalidErr{"value must be one of ['parallel', 'queued', 'restart', 'single'] for dictionary value", at("", "mode")}
	}
	if alias, ok := cfg["alias"]; ok {
		if _, isStr := alias.(string); !isStr {
			return &invalidErr{"expected str for dictionary value", at("", "alias")}
		}
	}
	if err := validateTriggers(cfg["triggers"], at("", "triggers")); err != nil {
		return err
	}
	if err := validateConditions(cfg["conditions"], at("", "conditions")); err != nil {
		return err
	}
	return validateActions(cfg["actions"], at("", "actions"))
}
