package tools

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxAutomationBytes bounds an automation given as YAML text.
const maxAutomationBytes = 64 << 10

// maxYAMLDepth bounds nesting, so that hostile YAML cannot exhaust memory.
const maxYAMLDepth = 32

// automationKeys maps the singular keys of older configs to the plural
// ones Home Assistant uses since 2024.10.
var automationKeys = map[string]string{"trigger": "triggers", "condition": "conditions", "action": "actions"}

// parseAutomationConfig reads an automation: a JSON object, or YAML (or
// JSON) text holding a mapping or a one-item list of mappings as in
// automations.yaml. It returns the config with plural keys
// (triggers/conditions/actions) and JSON-compatible values. The error
// names what is wrong, for the caller to prefix with the argument name.
func parseAutomationConfig(v any) (map[string]any, error) {
	var cfg map[string]any
	switch v := v.(type) {
	case map[string]any:
		cfg = v
	case string:
		m, err := parseAutomationYAML(v)
		if err != nil {
			return nil, err
		}
		cfg = m
	default:
		return nil, fmt.Errorf("is %s; want an object or YAML text", jsonKind(v))
	}
	out := make(map[string]any, len(cfg))
	for k, val := range cfg {
		if plural, ok := automationKeys[k]; ok {
			if _, dup := cfg[plural]; dup {
				return nil, fmt.Errorf("has both %q and %q; use %q", k, plural, plural)
			}
			k = plural
		}
		out[k] = val
	}
	if err := checkAutomationShape(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkAutomationShape checks the keys every automation needs.
func checkAutomationShape(cfg map[string]any) error {
	alias, ok := cfg["alias"].(string)
	if !ok || strings.TrimSpace(alias) == "" {
		return errors.New(`needs "alias": a short name, like "Porch light at sunset"`)
	}
	for _, key := range []string{"triggers", "actions"} {
		switch v := cfg[key].(type) {
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("%q is an empty list; give at least one", key)
			}
		case map[string]any:
			cfg[key] = []any{v}
		case nil:
			return fmt.Errorf("needs %q: a list (e.g. %s)", key, automationExample(key))
		default:
			return fmt.Errorf("%q is %s; want a list", key, jsonKind(v))
		}
	}
	if c, ok := cfg["conditions"].(map[string]any); ok {
		cfg["conditions"] = []any{c}
	}
	return nil
}

func automationExample(key string) string {
	if key == "triggers" {
		return `[{"trigger": "sun", "event": "sunset"}]`
	}
	return `[{"action": "light.turn_on", "target": {"entity_id": "light.porch"}}]`
}

// parseAutomationYAML decodes YAML text into a JSON-compatible mapping.
func parseAutomationYAML(text string) (map[string]any, error) {
	if len(text) > maxAutomationBytes {
		return nil, fmt.Errorf("is %d bytes of text; at most %d are allowed", len(text), maxAutomationBytes)
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("is empty; give the automation as an object or YAML text")
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(text), &node); err != nil {
		return nil, fmt.Errorf("is not valid YAML: %w", err)
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = *node.Content[0]
	}
	if node.Kind == yaml.SequenceNode && len(node.Content) == 1 {
		node = *node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil, errors.New("must be one automation: a YAML mapping with alias, triggers and actions")
	}
	v, err := yamlValue(&node, 0)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// yamlValue converts a node to JSON-compatible values (string keys,
// float64/int64 numbers, RFC 3339 times), refusing aliases and deep trees.
func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("nests deeper than %d levels", maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: keys must be plain strings", k.Line)
			}
			val, err := yamlValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		return l, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	default:
		return nil, fmt.Errorf("line %d: YAML anchors, aliases and tags other than plain values are not supported", n.Line)
	}
}

func yamlScalar(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return n.Value, nil
		}
	case int:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case int64:
		return float64(x), nil
	}
	return v, nil
}
