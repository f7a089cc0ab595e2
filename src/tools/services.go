package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

type getServicesIn struct {
	Domain  string `json:"domain"`
	Service string `json:"service"`
}

type serviceField struct {
	Name        string   `json:"name"`
	Required    bool     `json:"required,omitempty"`
	Type        string   `json:"type,omitempty" jsonschema:"selector kind: number, boolean, text, select, entity, color_rgb..."`
	Description string   `json:"description,omitempty"`
	Example     any      `json:"example,omitempty"`
	Options     []any    `json:"options,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Unit        string   `json:"unit,omitempty"`
}

type serviceInfo struct {
	Service     string         `json:"service" jsonschema:"domain.service"`
	Description string         `json:"description,omitempty"`
	Target      bool           `json:"target,omitempty" jsonschema:"whether the service acts on entities (entity_id/area_id... targets)"`
	Response    string         `json:"response,omitempty" jsonschema:"optional or only when the service can return response data"`
	Fields      []serviceField `json:"fields,omitempty"`
}

type domainServices struct {
	Domain   string   `json:"domain"`
	Services []string `json:"services"`
}

type getServicesOut struct {
	Domains  []domainServices `json:"domains,omitempty" jsonschema:"without a domain: every domain with its service names"`
	Services []serviceInfo    `json:"services,omitempty" jsonschema:"with a domain: its services with their fields"`
	Note     string           `json:"note,omitempty"`
}

func (t *Tools) getServicesTool() tool[getServicesIn, getServicesOut] {
	return tool[getServicesIn, getServicesOut]{
		name:  "get_services",
		title: "List actions",
		desc: "List the actions (services) Home Assistant offers. Without a domain: every domain with its service names. " +
			"With a domain (and optionally one service): each service's description, whether it takes entity targets, " +
			"and its data fields (type, required, range, options, example), to build a call_service request.",
		input: newInput(
			strParam("domain", "Only the services of this domain, with their fields.", `a domain like "light"`, "light", "climate", "media_player"),
			strParam("service", "Only this service of the domain (needs domain).", `a service like "turn_on"`, "turn_on", "set_temperature"),
		),
		ann:  readHints("List actions"),
		run:  t.getServices,
		text: getServicesText,
	}
}

// haService is one service as get_services describes it.
type haService struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description"`
	Fields      map[string]json.RawMessage `json:"fields"`
	Target      json.RawMessage            `json:"target"`
	Response    *struct {
		Optional bool `json:"optional"`
	} `json:"response"`
}

func (t *Tools) getServices(ctx context.Context, in *getServicesIn) (*getServicesOut, error) {
	domain, service := strings.ToLower(strings.TrimSpace(in.Domain)), strings.ToLower(strings.TrimSpace(in.Service))
	if service != "" && domain == "" {
		return nil, badArg("service", "needs domain as well")
	}
	var all map[string]map[string]json.RawMessage
	if err := t.ha.Command(ctx, map[string]any{"type": "get_services"}, &all); err != nil {
		return nil, err
	}
	out := &getServicesOut{}
	if domain == "" {
		for _, d := range sortedKeys(all) {
			if names := t.exposedServices(d, all[d]); len(names) > 0 {
				out.Domains = append(out.Domains, domainServices{Domain: d, Services: names})
			}
		}
		n := pageFit(len(out.Domains), t.cfg.MaxAnswerBytes-1024, func(i int) int { return 2 * jsonSize(out.Domains[i]) })
		if n < len(out.Domains) {
			rest := make([]string, 0, len(out.Domains)-n)
			for _, d := range out.Domains[n:] {
				rest = append(rest, d.Domain)
			}
			out.Note = "More domains (ask for one with the domain argument): " + truncate(strings.Join(rest, ", "), t.cfg.MaxAnswerBytes/8)
			out.Domains = out.Domains[:n]
		}
		return out, nil
	}
	names := t.exposedServices(domain, all[domain])
	if len(names) == 0 {
		return nil, failf("no services in domain %q; call get_services without a domain to list the domains", truncate(domain, 60))
	}
	for _, name := range names {
		if service != "" && name != service {
			continue
		}
		out.Services = append(out.Services, describeService(domain, name, all[domain][name]))
	}
	if len(out.Services) == 0 {
		return nil, badArg("service", "%s has no service %q; it has: %s", domain, truncate(service, 60), strings.Join(names, ", "))
	}
	n := pageFit(len(out.Services), t.cfg.MaxAnswerBytes-1024, func(i int) int { return 2 * jsonSize(out.Services[i]) })
	if n < len(out.Services) {
		out.Note = fmt.Sprintf("%d more services; ask for one with the service argument: %s", len(out.Services)-n,
			strings.Join(names[n:], ", "))
		out.Services = out.Services[:n]
	}
	return out, nil
}

// exposedServices lists a domain's services that the policy lets be called.
func (t *Tools) exposedServices(domain string, services map[string]json.RawMessage) []string {
	var names []string
	for _, s := range sortedKeys(services) {
		if t.pol.domainAllowed(domain) || domain == "homeassistant" && slices.Contains(homeassistantEntityServices, s) {
			names = append(names, s)
		}
	}
	return names
}

func describeService(domain, name string, raw json.RawMessage) serviceInfo {
	info := serviceInfo{Service: domain + "." + name}
	var s haService
	if json.Unmarshal(raw, &s) != nil {
		return info
	}
	info.Description = truncate(strings.TrimSpace(s.Description), 300)
	info.Target = len(s.Target) > 0 && string(s.Target) != "null"
	if s.Response != nil {
		info.Response = "only"
		if s.Response.Optional {
			info.Response = "optional"
		}
	}
	info.Fields = describeFields(s.Fields)
	return info
}

// describeFields flattens fields (and collapsed sections) compactly.
func describeFields(fields map[string]json.RawMessage) []serviceField {
	var out []serviceField
	for _, name := range sortedKeys(fields) {
		var f struct {
			Description string                     `json:"description"`
			Required    bool                       `json:"required"`
			Example     any                        `json:"example"`
			Selector    map[string]json.RawMessage `json:"selector"`
			Fields      map[string]json.RawMessage `json:"fields"` // a section
		}
		if json.Unmarshal(fields[name], &f) != nil {
			continue
		}
		if f.Fields != nil {
			out = append(out, describeFields(f.Fields)...)
			continue
		}
		sf := serviceField{Name: name, Required: f.Required, Description: truncate(strings.TrimSpace(f.Description), 160), Example: shortValue(f.Example)}
		for kind, opts := range f.Selector {
			sf.Type = kind
			selectorDetails(&sf, opts)
		}
		out = append(out, sf)
	}
	slices.SortStableFunc(out, func(a, b serviceField) int { return boolRank(b.Required) - boolRank(a.Required) })
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// selectorDetails copies the range and options of a selector.
func selectorDetails(sf *serviceField, raw json.RawMessage) {
	var sel struct {
		Min     *float64 `json:"min"`
		Max     *float64 `json:"max"`
		Unit    string   `json:"unit_of_measurement"`
		Options []any    `json:"options"`
	}
	if json.Unmarshal(raw, &sel) != nil {
		return
	}
	sf.Min, sf.Max, sf.Unit = sel.Min, sel.Max, sel.Unit
	for i, o := range sel.Options {
		if i == 30 {
			sf.Options = append(sf.Options, "…")
			break
		}
		if m, ok := o.(map[string]any); ok && m["value"] != nil {
			o = m["value"]
		}
		sf.Options = append(sf.Options, shortValue(o))
	}
}

func getServicesText(out *getServicesOut) string {
	var b strings.Builder
	for _, d := range out.Domains {
		fmt.Fprintf(&b, "%s: %s\n", d.Domain, strings.Join(d.Services, ", "))
	}
	for _, s := range out.Services {
		fmt.Fprintf(&b, "%s", s.Service)
		if s.Target {
			b.WriteString(" (takes a target)")
		}
		if s.Response != "" {
			fmt.Fprintf(&b, " (response: %s)", s.Response)
		}
		if s.Description != "" {
			b.WriteString(": " + s.Description)
		}
		b.WriteString("\n")
		for _, f := range s.Fields {
			b.WriteString("  " + fieldLine(f) + "\n")
		}
	}
	if out.Note != "" {
		b.WriteString(out.Note + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func fieldLine(f serviceField) string {
	var b strings.Builder
	b.WriteString(f.Name)
	if f.Required {
		b.WriteString("*")
	}
	if f.Type != "" {
		b.WriteString(" " + f.Type)
	}
	if f.Min != nil || f.Max != nil {
		fmt.Fprintf(&b, " %s..%s", fmtNum(f.Min), fmtNum(f.Max))
	}
	if f.Unit != "" {
		b.WriteString(" " + f.Unit)
	}
	if len(f.Options) > 0 {
		b.WriteString(" " + formatValue(f.Options))
	}
	if f.Example != nil {
		b.WriteString(" e.g. " + formatValue(f.Example))
	}
	if f.Description != "" {
		b.WriteString(" - " + f.Description)
	}
	return b.String()
}

func fmtNum(f *float64) string {
	if f == nil {
		return ""
	}
	return formatValue(*f)
}
