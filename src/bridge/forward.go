package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Message is one MCP request other than tools/call, as a transport
// received it: resources/read, prompts/get, completion/complete, the list
// methods, resources/subscribe.
type Message struct {
	Method string
	Params json.RawMessage // a JSON object, or nil
	// Timeout, if positive, replaces Config.DefaultTimeout; it is capped at
	// Config.MaxTimeout.
	Timeout time.Duration
	// SessionID is the transport's client session, if any; it shows in logs.
	SessionID string
}

// methodPolicy is how the bridge treats a forwarded method.
type methodPolicy struct {
	kind  Kind // reads are retried and may be deduplicated
	dedup bool // identical concurrent requests may share one execution
}

// methodPolicies lists the methods Forward relays. A method not listed is
// refused with ErrInvalidRequest: relaying initialize, ping or a
// notification would confuse the child's own session state, which the
// bridge owns.
var methodPolicies = map[string]methodPolicy{
	"resources/list":           {kind: KindRead, dedup: true},
	"resources/templates/list": {kind: KindRead, dedup: true},
	"resources/read":           {kind: KindRead, dedup: true},
	"prompts/list":             {kind: KindRead, dedup: true},
	"prompts/get":              {kind: KindRead, dedup: true},
	"completion/complete":      {kind: KindRead, dedup: true},
	// Subscribing twice, or unsubscribing what is not subscribed, is
	// harmless, so these are retried like reads; they are never shared.
	"resources/subscribe":   {kind: KindRead},
	"resources/unsubscribe": {kind: KindRead},
}

// Forwards reports whether Forward relays method.
func Forwards(method string) bool {
	_, ok := methodPolicies[method]
	return ok
}

// Forward relays one request other than tools/call to a child through the
// same breaker, queue and retries as Call, and returns the child's result
// unmodified. Messages the child sends about it go to the mcpconn.Handlers
// on ctx (see mcpconn.WithHandlers). Errors are those of Call.
func (b *Bridge) Forward(ctx context.Context, m Message) (json.RawMessage, error) {
	start := time.Now()
	pol, ok := methodPolicies[m.Method]
	if !ok {
		return nil, fmt.Errorf("%w: the bridge does not relay %q", ErrInvalidRequest, m.Method)
	}
	p := plan{method: m.Method, kind: pol.kind, priority: queue.High, params: m.Params}
	if len(bytes.TrimSpace(p.params)) == 0 {
		p.params = json.RawMessage(`{}`)
	}
	if b.cfg.DisablePriorities {
		p.priority = queue.Medium
	}
	p.timeout = b.cfg.DefaultTimeout
	if m.Timeout > 0 {
		p.timeout = min(m.Timeout, b.cfg.MaxTimeout)
	}
	if pol.dedup && !b.cfg.DisableDedup && !routed(ctx, p.params) {
		p.dedupKey = "msg\x00" + digest(m.Method, p.params)
	}
	res, err := b.forward(ctx, p)
	b.record(p.kind, res, err, time.Since(start))
	if err != nil {
		b.log.Debug().Err(err).Str("method", m.Method).Str("session", m.SessionID).Msg("forwarded request failed")
	}
	return res.Raw, err
}

func (b *Bridge) forward(ctx context.Context, p plan) (Result, error) {
	if err := b.breaker.check(); err != nil {
		return Result{}, err
	}
	deadline := time.Now().Add(p.timeout)
	qctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return b.enqueue(ctx, qctx, deadline, p)
}

// routed reports whether a request is its caller's alone: the child's
// messages about it must reach that caller (it carries a progress token,
// or its caller asked to run alone), or it continues a multi-round trip.
// Such a request is never shared with another caller's.
func routed(ctx context.Context, params json.RawMessage) bool {
	if h := mcpconn.HandlersFrom(ctx); h != nil && h.Exclusive {
		return true
	}
	return bytes.Contains(params, []byte(`"progressToken"`)) || bytes.Contains(params, []byte(`"requestState"`))
}

// Listener receives the children's notifications that concern every
// client: notifications/tools/list_changed, prompts/list_changed,
// resources/list_changed and resources/updated.
type Listener func(method string, params json.RawMessage)

// listeners is the fan-out of Notify. It is safe for concurrent use.
type listeners struct {
	mu   sync.Mutex // guards next, fs
	next int
	fs   map[int]Listener
}

// Listen registers f; stop unregisters it. f runs on the goroutine that
// read the child's message and must not block.
func (b *Bridge) Listen(f Listener) (stop func()) {
	b.listeners.mu.Lock()
	defer b.listeners.mu.Unlock()
	if b.listeners.fs == nil {
		b.listeners.fs = make(map[int]Listener)
	}
	id := b.listeners.next
	b.listeners.next++
	b.listeners.fs[id] = f
	return func() {
		b.listeners.mu.Lock()
		defer b.listeners.mu.Unlock()
		delete(b.listeners.fs, id)
	}
}

// Notify is the children's session-level path to the bridge: the pool
// calls it with what a child sends that no call claims. A changed tool list
// is fetched again before the listeners hear of it, so that a client that
// lists tools on the notification sees the new list.
func (b *Bridge) Notify(child, method string, params json.RawMessage) {
	switch method {
	case "notifications/tools/list_changed":
		b.catalog.invalidate()
	case "notifications/prompts/list_changed", "notifications/resources/list_changed", "notifications/resources/updated":
	default:
		b.log.Debug().Str("child", child).Str("method", method).Msg("a child's notification no call claims")
		return
	}
	b.listeners.mu.Lock()
	fs := make([]Listener, 0, len(b.listeners.fs))
	for _, f := range b.listeners.fs {
		fs = append(fs, f)
	}
	b.listeners.mu.Unlock()
	for _, f := range fs {
		f(method, params)
	}
}
