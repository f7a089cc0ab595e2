package simhome

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// templateSub is a live render_template subscription: it renders again
// when an entity it read changes, like async_track_template_result.
type templateSub struct {
	src          string
	vars         map[string]any
	strict       bool
	reportErrors bool
	entities     []string
	domains      []string
	all          bool
	last         []byte // JSON of the last result sent
}

var renderTemplateSchema = []field{
	{name: "template", required: true, kind: kindStr},
	{name: "entity_ids", kind: kindEntityIDs},
	{name: "variables", kind: kindDict},
	{name: "timeout", kind: kindFloat},
	{name: "strict", kind: kindBool},
	{name: "report_errors", kind: kindBool},
}

// handleRenderTemplate answers render_template. Success: result null, then
// an event {"result", "listeners"}. A template error with report_errors:
// the error event, result null, the error event again (as Home Assistant
// sends them). Without report_errors Home Assistant would stay silent; the
// fake answers the result error template_error that older versions sent,
// so that a client never waits for an event that cannot come.
func handleRenderTemplate(c *conn, cmd command) {
	ts := &templateSub{src: cmd.m["template"].(string)}
	ts.vars, _ = cmd.m["variables"].(map[string]any)
	ts.strict, _ = cmd.m["strict"].(bool)
	ts.reportErrors, _ = cmd.m["report_errors"].(bool)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, err := ts.render(&s.w)
	var b batch
	switch {
	case err != nil && !ts.reportErrors:
		b.add(c, errorMessage(cmd.id, errTemplateError, err.Error(), nil))
	case err != nil:
		b.add(c, eventMessage(cmd.id, ev))
		b.add(c, resultMessage(cmd.id, nil))
		b.add(c, eventMessage(cmd.id, ev))
	default:
		b.add(c, resultMessage(cmd.id, nil))
		b.add(c, eventMessage(cmd.id, ev))
	}
	if err == nil || ts.reportErrors {
		ts.last = ev
		s.w.subs = append(s.w.subs, &subscription{c: c, id: cmd.id, tmpl: ts})
	}
	b.flush()
}

// render renders the template and returns the event message to send (as
// a payload without the id), updating the listeners.
func (ts *templateSub) render(w *world) ([]byte, error) {
	out, env, err := renderTemplate(w, ts.src, ts.vars, ts.strict)
	if env != nil {
		ts.entities, ts.domains, ts.all = sortedKeys(env.entities), sortedKeys(env.domains), env.all
	}
	if err != nil {
		return mustJSON(map[string]any{"error": err.Error(), "level": "ERROR"}), err
	}
	return mustJSON(map[string]any{"result": parseResult(out), "listeners": map[string]any{
		"all": ts.all, "entities": nonNil(ts.entities), "domains": nonNil(ts.domains), "time": false}}), nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// listensTo reports whether a change of entityID affects the template.
func (ts *templateSub) listensTo(entityID string) bool {
	if ts.all || slices.Contains(ts.entities, entityID) {
		return true
	}
	domain, _, _ := strings.Cut(entityID, ".")
	return slices.Contains(ts.domains, domain)
}

// refreshTemplatesLocked renders again the templates that read entityID
// and sends the new result when it changed.
func (w *world) refreshTemplatesLocked(b *batch, entityID string) {
	for _, sub := range w.subs {
		ts := sub.tmpl
		if ts == nil || !ts.listensTo(entityID) {
			continue
		}
		payload, err := ts.render(w)
		if bytes.Equal(payload, ts.last) || err != nil && !ts.reportErrors {
			continue
		}
		ts.last = payload
		msg := eventMessage(sub.id, payload)
		if b == nil {
			sub.c.enqueue(msg)
			continue
		}
		b.add(sub.c, msg)
	}
}

// isNumeric is template._IS_NUMERIC.
var isNumeric = regexp.MustCompile(`^[+-]?(?:[1-9]\d*|0)?(?:\.\d*)?$`)

// parseResult is Template._parse_result: the rendered text read as a
// Python literal (numbers, booleans, None, lists, dicts), else the text.
func parseResult(s string) any {
	switch s {
	case "True":
		return true
	case "False":
		return false
	case "None":
		return nil
	case "":
		return ""
	}
	n, err := parseExpr(s)
	if err != nil {
		return s
	}
	v, ok := literalValue(n)
	if !ok {
		return s
	}
	switch v.(type) {
	case string:
		return s
	case int64, float64:
		if !isNumeric.MatchString(s) {
			return s
		}
	}
	return toJSONValue(v)
}

// literalValue evaluates an expression made only of literals, like
// ast.literal_eval.
func literalValue(n node) (any, bool) {
	switch n := n.(type) {
	case litNode:
		return n.v, true
	case unaryNode:
		v, ok := literalValue(n.x)
		switch x := v.(type) {
		case int64:
			if n.op == "-" {
				return -x, ok
			}
			return x, ok && n.op == "+"
		case float64:
			if n.op == "-" {
				return -x, ok
			}
			return x, ok && n.op == "+"
		}
	case listNode:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			v, ok := literalValue(it)
			if !ok {
				return nil, false
			}
			out[i] = v
		}
		return out, true
	case dictNode:
		out := map[string]any{}
		for i := range n.keys {
			k, ok1 := literalValue(n.keys[i])
			v, ok2 := literalValue(n.vals[i])
			ks, isStr := k.(string)
			if !ok1 || !ok2 || !isStr {
				return nil, false
			}
			out[ks] = v
		}
		return out, true
	}
	return nil, false
}
