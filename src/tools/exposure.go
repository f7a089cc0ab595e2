package tools

import (
	"path"
	"slices"
	"strings"
)

// policy decides what a model may see and do. It is immutable after
// newPolicy and safe for concurrent use.
type policy struct {
	readOnly      bool
	allowed       []string // domain patterns; empty = all
	blocked       []string // entity id patterns
	confirm       []string // "domain.service" patterns
	confirmCovers []string // cover device classes
}

func newPolicy(c Config) *policy {
	norm := func(ps []string) []string {
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, strings.ToLower(strings.TrimSpace(p)))
		}
		return out
	}
	return &policy{
		readOnly:      c.ReadOnly,
		allowed:       norm(c.AllowedDomains),
		blocked:       norm(c.BlockedEntities),
		confirm:       norm(c.ConfirmServices),
		confirmCovers: norm(c.ConfirmCoverClasses),
	}
}

// restricted reports whether some entities may be hidden. Tools that could
// read or act on anything (render_template, templates in automations,
// area-wide targets) are narrowed when it is true.
func (p *policy) restricted() bool {
	return len(p.allowed) > 0 || len(p.blocked) > 0
}

// domainAllowed reports whether entities and services of domain are exposed.
func (p *policy) domainAllowed(domain string) bool {
	return len(p.allowed) == 0 || matchAny(p.allowed, domain)
}

// visible reports whether the entity may appear in answers and be targeted.
func (p *policy) visible(entityID string) bool {
	domain, _, ok := strings.Cut(entityID, ".")
	if !ok {
		return false
	}
	return p.domainAllowed(domain) && !matchAny(p.blocked, entityID)
}

// serviceNeedsConfirm reports whether "domain.service" is a confirm service.
func (p *policy) serviceNeedsConfirm(domain, service string) bool {
	return matchAny(p.confirm, domain+"."+service)
}

// coverNeedsConfirm reports whether a cover of deviceClass needs confirm.
func (p *policy) coverNeedsConfirm(deviceClass string) bool {
	return deviceClass != "" && slices.Contains(p.confirmCovers, strings.ToLower(deviceClass))
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// scrub removes hidden entity ids from a value: list items and map keys
// that name a hidden entity, and string values that are one. Attributes
// of visible entities (a scene's entity_id list, a zone's persons) and
// service responses would otherwise reveal hidden entities.
func (p *policy) scrub(v any) (any, bool) {
	if !p.restricted() {
		return v, true
	}
	switch x := v.(type) {
	case string:
		if validEntityID(x) && !p.visible(x) {
			return nil, false
		}
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if s, ok := p.scrub(e); ok {
				out = append(out, s)
			}
		}
		return out, true
	case map[string]any:
		return p.scrubMap(x), true
	}
	return v, true
}

// scrubMap is scrub for objects; the result is a new map.
func (p *policy) scrubMap(m map[string]any) map[string]any {
	if !p.restricted() || m == nil {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if validEntityID(k) && !p.visible(k) {
			continue
		}
		if s, ok := p.scrub(v); ok {
			out[k] = s
		}
	}
	return out
}
