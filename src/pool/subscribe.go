package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Resource subscriptions. A child sends notifications/resources/updated
// for the resources its session subscribed to, and forgets them when it
// exits. The pool remembers which child holds each subscription, sends an
// unsubscribe to that child, subscribes a restarted child again to what
// its predecessor held, before it serves, and never retires a child that
// holds any, so that updates keep coming however children come and go.

// subscription is one resource's subscription: the slot whose child holds
// it, and how many subscribers asked for it. The pool serves several MCP
// front ends (the API port, Ingress), each counting its own clients and
// subscribing once per resource: the child is unsubscribed when the last
// subscriber leaves.
type subscription struct {
	sl *slot
	n  int
}

// maxSubscriptions bounds the resources subscribed to at once.
const maxSubscriptions = 10000

// errTooManySubscriptions refuses a subscription past maxSubscriptions.
var errTooManySubscriptions = &mcpconn.RPCError{Code: -32602, Message: "too many resources are subscribed to; unsubscribe from some first"}

// subscriptionURI reads the uri of resources/subscribe and unsubscribe.
func subscriptionURI(params json.RawMessage) (string, error) {
	var p struct {
		URI string `json:"uri"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.URI == "" {
		return "", &mcpconn.RPCError{Code: -32602, Message: "resources/subscribe and unsubscribe need params with a uri"}
	}
	return p.URI, nil
}

// subscribe sends resources/subscribe to a child, unless one holds the
// subscription already, and records which child holds it.
func (p *Pool) subscribe(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	uri, err := subscriptionURI(params)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	sub, held := p.subs[uri]
	if held {
		sub.n++
	}
	full := len(p.subs) >= maxSubscriptions
	p.mu.Unlock()
	switch {
	case held:
		return json.RawMessage(`{}`), nil
	case full:
		return nil, errTooManySubscriptions
	}
	sl, sess, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := sess.Call(ctx, "resources/subscribe", params)
	if err == nil {
		p.mu.Lock()
		if p.subs == nil {
			p.subs = make(map[string]*subscription)
		}
		if sub, ok := p.subs[uri]; ok {
			sub.n++ // subscribed meanwhile by another
		} else {
			p.subs[uri] = &subscription{sl: sl, n: 1}
			sl.subs++
		}
		p.mu.Unlock()
	}
	p.release(sl, time.Since(start), answered(err))
	if err != nil {
		return nil, fmt.Errorf("pool: %s (pid %d): %w", sess.Name(), sess.Pid(), err)
	}
	return res, nil
}

// unsubscribe forgets a subscription and sends resources/unsubscribe to
// the child that holds it, if it is running; a child starting again is
// simply not subscribed again.
func (p *Pool) unsubscribe(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	uri, err := subscriptionURI(params)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	var sl *slot
	if sub := p.subs[uri]; sub != nil {
		if sub.n--; sub.n == 0 { // the last subscriber left
			sl = sub.sl
			delete(p.subs, uri)
			sl.subs--
		}
	}
	p.mu.Unlock()
	if sl == nil {
		return json.RawMessage(`{}`), nil
	}
	sess, ok, err := p.acquireSlot(ctx, sl)
	if err != nil || !ok {
		return json.RawMessage(`{}`), err
	}
	start := time.Now()
	res, err := sess.Call(ctx, "resources/unsubscribe", params)
	p.release(sl, time.Since(start), answered(err))
	if err != nil {
		return nil, fmt.Errorf("pool: %s (pid %d): %w", sess.Name(), sess.Pid(), err)
	}
	return res, nil
}

// acquireSlot reserves an in-flight slot on sl's child, waiting (bounded by
// ctx) while it is full. ok is false if sl has no running child.
func (p *Pool) acquireSlot(ctx context.Context, sl *slot) (*mcpconn.Session, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := false
	err := p.await(ctx, func() (bool, error) {
		if p.slots[sl.id] != sl || sl.state != stateReady || sl.sess.Err() != nil {
			return true, nil // nothing to tell
		}
		ok = !sl.exclusive && sl.inflight < p.cfg.MaxInflightPerSession
		return ok, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("pool: waiting for the child holding a subscription: %w: %w", mcpconn.ErrNotSent, err)
	}
	if !ok {
		return nil, false, nil
	}
	p.takeLocked(sl, false)
	return sl.sess, true, nil
}

// resubscribe subscribes sess, sl's new child, to what sl's child held.
// A refusal is logged and the subscription kept, for the next start.
func (p *Pool) resubscribe(ctx context.Context, sl *slot, sess *mcpconn.Session) error {
	p.mu.Lock()
	var uris []string
	for uri, sub := range p.subs {
		if sub.sl == sl {
			uris = append(uris, uri)
		}
	}
	p.mu.Unlock()
	for _, uri := range uris {
		params, _ := json.Marshal(map[string]string{"uri": uri})
		if _, err := sess.Call(ctx, "resources/subscribe", params); err != nil {
			if !answered(err) {
				return fmt.Errorf("subscribing %s to %q again: %w", sess.Name(), uri, err)
			}
			p.log.Warn().Err(err).Str("child", sess.Name()).Str("uri", uri).Msg("a restarted child refused a subscription")
		}
	}
	if len(uris) > 0 {
		p.log.Info().Str("child", sess.Name()).Int("subscriptions", len(uris)).Msg("subscribed a restarted child again")
	}
	return nil
}
