package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"

	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// plan is everything the bridge decided about one call before queueing it.
type plan struct {
	method   string // "tools/call", or the forwarded method
	tool     string // the tool of a tools/call
	kind     Kind
	priority queue.Priority
	timeout  time.Duration
	locks    []string
	group    string // the queue's bulkhead (writes: their domain)
	dedupKey string
	idemKey  string
	digest   string // the call's content (tool and canonical arguments)
	// callerTimeout: the caller asked for less time than the tool's
	// default, so running out of it says nothing about the children.
	callerTimeout bool
	params        json.RawMessage // tools/call params sent to the child
}

// makePlan classifies req against the tool's metadata and the policies.
func (b *Bridge) makePlan(req Request, info toolInfo) (plan, error) {
	args, canon, err := decodeArguments(req.Arguments)
	if err != nil {
		return plan{}, err
	}
	pol, hasPol := b.cfg.Tools[req.Tool]
	p := plan{method: "tools/call", tool: req.Tool, kind: pol.Kind}
	if p.kind == KindAuto {
		p.kind = KindWrite
		if info.readOnly {
			p.kind = KindRead
		}
	}
	p.priority = b.priority(req, pol, hasPol, p.kind)
	p.timeout = b.timeout(req, pol)
	sum := digest(req.Tool, canon)
	p.digest = sum
	p.callerTimeout = req.Timeout > 0 && req.Timeout < b.timeout(Request{}, pol)
	if p.kind == KindWrite {
		p.locks = Locks(req.Tool, args)
		p.group = writeGroup(req.Tool, args, p.locks)
	} else if !b.cfg.DisableDedup {
		p.dedupKey = "read\x00" + sum
	}
	if req.RequestID != "" {
		p.idemKey = "req\x00" + req.SessionID + "\x00" + req.RequestID + "\x00" + sum
	}
	rawArgs := bytes.TrimSpace(req.Arguments)
	if args == nil {
		rawArgs = []byte(`{}`)
	}
	// The name passed checkToolName, so it needs no escaping; the arguments
	// were just decoded, so they are valid JSON (the session compacts them).
	meta := bytes.TrimSpace(req.Meta)
	params := make([]byte, 0, len(`{"name":"","arguments":,"_meta":}`)+len(req.Tool)+len(rawArgs)+len(meta))
	params = append(params, `{"name":"`...)
	params = append(params, req.Tool...)
	params = append(params, `","arguments":`...)
	params = append(params, rawArgs...)
	if len(meta) > 0 && meta[0] == '{' && json.Valid(meta) {
		params = append(append(params, `,"_meta":`...), meta...)
	}
	if resp := bytes.TrimSpace(req.InputResponses); len(resp) > 0 && resp[0] == '{' && json.Valid(resp) {
		params = append(append(params, `,"inputResponses":`...), resp...)
	}
	if req.RequestState != "" {
		state, _ := json.Marshal(req.RequestState)
		params = append(append(params, `,"requestState":`...), state...)
	}
	p.params = append(params, '}')
	return p, nil
}

func (b *Bridge) priority(req Request, pol ToolPolicy, hasPol bool, kind Kind) queue.Priority {
	switch {
	case b.cfg.DisablePriorities:
		return queue.Medium
	case req.Priority != nil:
		return *req.Priority
	case hasPol && pol.Priority != nil:
		return *pol.Priority
	case kind == KindRead:
		return queue.High
	default:
		return queue.Medium
	}
}

func (b *Bridge) timeout(req Request, pol ToolPolicy) time.Duration {
	t := req.Timeout
	if t <= 0 {
		t = pol.Timeout
	}
	if t <= 0 {
		t = b.cfg.DefaultTimeout
	}
	return min(t, b.cfg.MaxTimeout)
}

// MaxArgumentsDepth is how deeply a call's arguments may nest arrays and
// objects: the edge's limit for a whole message, so that arguments within a
// message the edge accepted always pass.
const MaxArgumentsDepth = jsonlimit.DefaultMaxDepth

// decodeArguments checks that raw is a JSON object (absent or null count as
// {}) and returns it decoded plus its canonical form: keys sorted at every
// level, numbers kept as written, no insignificant space.
func decodeArguments(raw json.RawMessage) (map[string]any, []byte, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, []byte("{}"), nil
	}
	if trimmed[0] != '{' {
		return nil, nil, fmt.Errorf("%w: arguments must be a JSON object", ErrInvalidRequest)
	}
	// What a child cannot parse (deep nesting ends its decoder, and the
	// child with it) or may read differently (duplicate keys) never reaches
	// one, whatever the transport.
	if err := jsonlimit.Check(trimmed, MaxArgumentsDepth); err != nil {
		return nil, nil, fmt.Errorf("%w: arguments: %w", ErrInvalidRequest, err)
	}
	if err := jsonlimit.CheckKeys(trimmed); err != nil {
		return nil, nil, fmt.Errorf("%w: arguments: %w", ErrInvalidRequest, err)
	}
	if json.Valid(trimmed) { // the common case, decoded without a json.Decoder's buffers
		if args, ok := jsonscan.ParseObject(trimmed); ok {
			canon, err := json.Marshal(args) // encoding/json sorts map keys
			if err != nil {
				return nil, nil, fmt.Errorf("%w: arguments: %w", ErrInvalidRequest, err)
			}
			return args, canon, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed)) // and its precise errors
	dec.UseNumber()
	var args map[string]any
	if err := dec.Decode(&args); err != nil {
		return nil, nil, fmt.Errorf("%w: arguments: %w", ErrInvalidRequest, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: arguments: unexpected data after the object", ErrInvalidRequest)
	}
	canon, err := json.Marshal(args) // encoding/json sorts map keys
	if err != nil {
		return nil, nil, fmt.Errorf("%w: arguments: %w", ErrInvalidRequest, err)
	}
	return args, canon, nil
}

// digest names a tool call by content, in bounded size.
func digest(tool string, canon []byte) string {
	var buf [512]byte
	in := append(append(append(buf[:0], tool...), 0), canon...)
	sum := sha256.Sum256(in)
	return hex.EncodeToString(sum[:])
}

// writeGroup is a write's bulkhead in the queue: its Home Assistant domain,
// from the "domain" argument (call_service) or else the first entity id it
// locks, or else its tool. Writes to one domain then leave a quarter of the
// sessions (at least one) to others, so that a domain whose services hang
// cannot take every session from reads and other domains.
func writeGroup(tool string, args map[string]any, locks []string) string {
	if d, ok := args["domain"].(string); ok && d != "" {
		return "write:" + strings.ToLower(d)
	}
	for _, k := range locks {
		if domain, _, ok := strings.Cut(k, "."); ok && !strings.Contains(domain, ":") {
			return "write:" + domain
		}
	}
	return "write:tool:" + tool
}

// lockContainers are the argument objects that may name targets, besides
// the top level: HA service calls put them in target, and older callers in
// data or service_data.
var lockContainers = []string{"target", "data", "service_data"}

// Locks returns the queue lock keys of a write with the given decoded
// arguments: every entity id in entity_id (string, comma-separated string
// or list), and "area:<id>", "device:<id>", "floor:<id>", "label:<id>" for
// area_id, device_id, floor_id and label_id, found at the top level or inside
// target, data or service_data. Ids are lowercased,
// as Home Assistant does. A write naming none of them locks
// "tool:<name>:<domain>" when it names a service domain (a notification
// must not wait for a hung script), else "tool:<name>". The result is
// sorted and has no duplicates.
func Locks(tool string, args map[string]any) []string {
	var keys []string
	scan := func(m map[string]any) {
		keys = appendIDs(keys, "", m["entity_id"])
		keys = appendIDs(keys, "area:", m["area_id"])
		keys = appendIDs(keys, "device:", m["device_id"])
		keys = appendIDs(keys, "floor:", m["floor_id"])
		keys = appendIDs(keys, "label:", m["label_id"])
	}
	scan(args)
	for _, name := range lockContainers {
		if m, ok := args[name].(map[string]any); ok {
			scan(m)
		}
	}
	if len(keys) == 0 {
		if d, ok := args["domain"].(string); ok && d != "" {
			return []string{"tool:" + tool + ":" + strings.ToLower(d)}
		}
		return []string{"tool:" + tool}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// appendIDs appends prefix+id for each id in v (a string, possibly
// comma-separated, or a list of strings); other values are ignored.
func appendIDs(keys []string, prefix string, v any) []string {
	switch v := v.(type) {
	case string:
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
				keys = append(keys, prefix+id)
			}
		}
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok {
				keys = appendIDs(keys, prefix, s)
			}
		}
	}
	return keys
}
