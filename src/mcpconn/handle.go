package mcpconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// handleNotification routes a notification from the child.
func (s *Session) handleNotification(req *jsonrpc.Request) {
	switch req.Method {
	case "notifications/cancelled":
		s.cancelIncoming(req.Params)
		return
	case "notifications/subscriptions/acknowledged": // our subscriptions/listen (see listen)
		return
	case "notifications/progress":
		if h, params, ok := s.progressHandlers(req.Params); ok {
			if h != nil && h.Notification != nil {
				h.Notification(req.Method, params)
			}
			return
		}
	}
	h := s.claimant()
	if sessionWide(req.Method) {
		h = s.cfg.Handlers
	}
	if h == nil || h.Notification == nil {
		s.log.Debug().Str("method", req.Method).Msg("no handler for the child's notification")
		return
	}
	h.Notification(req.Method, req.Params)
}

// sessionWide reports whether a notification concerns the session rather
// than a call, so that the session's Handlers get it even while a call is in
// flight.
func sessionWide(method string) bool {
	switch method {
	case "notifications/tools/list_changed", "notifications/prompts/list_changed",
		"notifications/resources/list_changed", "notifications/resources/updated":
		return true
	}
	return false
}

// progressHandlers finds the call a progress notification is about. ok is
// false if the token is not one of ours.
func (s *Session) progressHandlers(params json.RawMessage) (*Handlers, json.RawMessage, bool) {
	id, ok := progressTarget(params)
	if !ok {
		return nil, nil, false
	}
	s.mu.Lock()
	pc := s.pending[id]
	s.mu.Unlock()
	if pc == nil || pc.token == nil {
		return nil, nil, false
	}
	return pc.h, restoreProgress(params, pc.token), true
}

// claimant returns the Handlers that own a message from the child which
// names no request: those of the only call in flight, if exactly one is,
// else the session's.
func (s *Session) claimant() *Handlers {
	s.mu.Lock()
	defer s.mu.Unlock()
	var only *pendingCall
	n := 0
	for _, pc := range s.pending {
		if !pc.internal {
			only = pc
			n++
		}
	}
	if n == 1 && only.h != nil {
		return only.h
	}
	return s.cfg.Handlers
}

// handleRequest answers a request from the child: ping at once, others by
// the claiming Handlers on their own goroutine, or -32601.
func (s *Session) handleRequest(req *jsonrpc.Request) {
	if req.Method == "ping" {
		s.respond(req.ID, json.RawMessage(`{}`), nil)
		return
	}
	h := s.claimant()
	if h == nil || h.Request == nil {
		s.respond(req.ID, nil, &RPCError{Code: codeMethodNotFound, Message: "method not found: " + req.Method})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	key := idKey(req.ID)
	s.mu.Lock()
	if s.lostErr != nil {
		s.mu.Unlock()
		cancel()
		return
	}
	s.incoming[key] = cancel
	s.wg.Add(1) // under mu with lostErr unset: Close waits only after connLost
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forgetIncoming(key, cancel)
		result, err := h.Request(ctx, req.Method, req.Params)
		if ctx.Err() == nil { // cancelled requests get no answer
			s.respond(req.ID, result, err)
		}
	}()
}

func (s *Session) forgetIncoming(key string, cancel context.CancelFunc) {
	cancel()
	s.mu.Lock()
	delete(s.incoming, key)
	s.mu.Unlock()
}

// cancelIncoming handles notifications/cancelled from the child.
func (s *Session) cancelIncoming(params json.RawMessage) {
	var p struct {
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(params, &p) != nil {
		return
	}
	id, err := jsonrpc.MakeID(p.RequestID)
	if err != nil {
		return
	}
	s.mu.Lock()
	cancel := s.incoming[idKey(id)]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func idKey(id jsonrpc.ID) string { return fmt.Sprintf("%T:%v", id.Raw(), id.Raw()) }

// respond answers the child's request id with result or err.
func (s *Session) respond(id jsonrpc.ID, result json.RawMessage, err error) {
	resp := &jsonrpc.Response{ID: id, Result: result}
	if err != nil {
		var re *RPCError
		if !errors.As(err, &re) {
			re = &RPCError{Code: codeInternalError, Message: err.Error()}
		}
		resp.Result = nil
		resp.Error = &jsonrpc.Error{Code: re.Code, Message: re.Message, Data: re.Data}
	} else if len(result) == 0 {
		resp.Result = json.RawMessage(`{}`)
	}
	data, encErr := encodeMessage(resp)
	if encErr != nil {
		s.log.Warn().Err(encErr).Msg("encoding an answer to the child")
		return
	}
	s.writeAsync(data)
}
