package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// notifyTimeout bounds the delivery of one notification to the sessions.
const notifyTimeout = 10 * time.Second

// A sentinel whose addition and removal make the SDK tell every session
// that the prompts or resources changed: its server announces list changes
// only when its own registry changes, and those lists live in the children.
// (Tools are mirrored instead; see toolMirror.)
const sentinelName = "mcp-bridge.list-changed"

// notify receives the children's notifications about every client. It
// runs on the goroutine that reads a child, which must not wait for
// clients: delivery goes through the handler's bounded queue.
func (h *Handler) notify(method string, params json.RawMessage) {
	params = bytes.Clone(params)
	if !h.events.push(func() { h.deliver(method, params) }) {
		h.log.Warn().Str("method", method).Msg("clients are slow: dropped a notification from a child")
	}
}

// deliver passes a child's notification to the clients concerned.
func (h *Handler) deliver(method string, params json.RawMessage) {
	h.mu.Lock()
	s := h.server
	h.mu.Unlock()
	if s == nil {
		return
	}
	switch method {
	case "notifications/tools/list_changed":
		h.refreshTools() // the mirror's changes tell the clients
	case "notifications/prompts/list_changed":
		s.AddPrompt(&mcp.Prompt{Name: sentinelName}, nil)
		s.RemovePrompts(sentinelName)
	case "notifications/resources/list_changed":
		uri := "mcp-bridge:list-changed"
		s.AddResource(&mcp.Resource{URI: uri, Name: sentinelName}, nil)
		s.RemoveResources(uri)
	case "notifications/resources/updated":
		var p mcp.ResourceUpdatedNotificationParams
		if err := json.Unmarshal(params, &p); err != nil || p.URI == "" {
			h.log.Debug().Err(err).Msg("ignoring a malformed resources/updated")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		if err := s.ResourceUpdated(ctx, &p); err != nil {
			h.log.Debug().Err(err).Msg("passing resources/updated to the subscribers")
		}
	}
}

// unusable is the mirrored tools' handler; the relay never lets a call
// reach it.
func unusable(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return nil, errors.New("not a tool")
}

// subscriptions counts the clients subscribed to each resource, so that a
// child is asked to subscribe when the first client does and to
// unsubscribe when the last one leaves. It is safe for concurrent use.
type subscriptions struct {
	mu    sync.Mutex // guards byURI
	byURI map[string]map[*mcp.ServerSession]bool
}

// maxSubscribed bounds the resources subscribed to at once, over every
// client: each costs a subscription in a child.
const maxSubscribed = 10000

// errTooManySubscriptions refuses a subscription past maxSubscribed.
var errTooManySubscriptions = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "too many resources are subscribed to; unsubscribe from some first"}

// change records that ss subscribes (on) or unsubscribes from uri and
// reports whether the children must hear of it.
func (s *subscriptions) change(uri string, ss *mcp.ServerSession, on bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byURI == nil {
		s.byURI = make(map[string]map[*mcp.ServerSession]bool)
	}
	set := s.byURI[uri]
	if on {
		if set == nil {
			if len(s.byURI) >= maxSubscribed {
				return false, errTooManySubscriptions
			}
			set = make(map[*mcp.ServerSession]bool)
			s.byURI[uri] = set
		}
		set[ss] = true
		return len(set) == 1, nil
	}
	if !set[ss] {
		return false, nil
	}
	delete(set, ss)
	if len(set) == 0 {
		delete(s.byURI, uri)
		return true, nil
	}
	return false, nil
}

// prune forgets the sessions that have ended and returns the resources
// no session is subscribed to any more.
func (s *subscriptions) prune(live map[*mcp.ServerSession]bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for uri, set := range s.byURI {
		for ss := range set {
			if !live[ss] {
				delete(set, ss)
			}
		}
		if len(set) == 0 {
			delete(s.byURI, uri)
			gone = append(gone, uri)
		}
	}
	return gone
}

func (h *Handler) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	h.pruneSubscriptions(ctx)
	first, err := h.subs.change(req.Params.URI, req.Session, true)
	if err != nil || !first {
		return err
	}
	if err := h.relaySubscription(ctx, "resources/subscribe", req.Params, req.Session); err != nil {
		h.subs.change(req.Params.URI, req.Session, false)
		return err
	}
	return nil
}

func (h *Handler) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	if last, _ := h.subs.change(req.Params.URI, req.Session, false); !last {
		return nil
	}
	return h.relaySubscription(ctx, "resources/unsubscribe", req.Params, req.Session)
}

func (h *Handler) relaySubscription(ctx context.Context, method string, params any, ss *mcp.ServerSession) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Core.Forward(ctx, bridge.Message{Method: method, Params: raw, SessionID: sessionID(ss)}); err != nil {
		return rpcError(err)
	}
	return nil
}

// pruneSubscriptions drops the subscriptions of sessions that ended
// without unsubscribing, and unsubscribes the children from what no one
// follows any more.
func (h *Handler) pruneSubscriptions(ctx context.Context) {
	h.mu.Lock()
	s := h.server
	h.mu.Unlock()
	live := make(map[*mcp.ServerSession]bool)
	for ss := range s.Sessions() {
		live[ss] = true
	}
	for _, uri := range h.subs.prune(live) {
		if err := h.relaySubscription(ctx, "resources/unsubscribe", &mcp.UnsubscribeParams{URI: uri}, nil); err != nil {
			h.log.Debug().Err(err).Str("uri", uri).Msg("unsubscribing a child from a resource no client follows")
		}
	}
}
