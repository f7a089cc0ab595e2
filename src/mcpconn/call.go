package mcpconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Call sends a request and waits for its answer. params may be nil. The
// request gets an id from the session's own id space; a progress token in
// params._meta is replaced by a session-unique one and restored in the
// progress notifications handed to the Handlers of ctx (see
// [WithHandlers]), so callers never collide.
//
// If ctx ends after the request was written, Call sends
// notifications/cancelled to the child and returns ctx's error. Errors wrap
// [ErrNotSent] (never written), [ErrSessionLost] (written, no answer) or are
// an [*RPCError] (answered with an error).
func (s *Session) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	return s.call(ctx, method, params, false)
}

// Ping sends ping and waits for the child's answer. A stateless session,
// whose protocol has no ping, asks server/discover instead.
func (s *Session) Ping(ctx context.Context) error {
	method := "ping"
	if s.Stateless() {
		method = "server/discover"
	}
	_, err := s.call(ctx, method, nil, true)
	return err
}

// Notify sends a notification. It returns once the notification is written.
func (s *Session) Notify(ctx context.Context, method string, params json.RawMessage) error {
	data, err := appendRequest(nil, 0, false, method, params)
	if err != nil {
		return notSentError(fmt.Errorf("encoding %s: %w", method, err))
	}
	if err := s.Err(); err != nil {
		return notSentError(err)
	}
	sent, err := s.write(ctx, data)
	if sent && err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return err
}

func (s *Session) call(ctx context.Context, method string, params json.RawMessage, internal bool) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, notSentError(err)
	}
	if s.meta != nil {
		var err error
		if params, err = s.withMeta(params); err != nil {
			return nil, notSentError(fmt.Errorf("%s: %w", method, err))
		}
	}
	id := s.nextID.Add(1)
	pc := &pendingCall{h: handlersFrom(ctx), internal: internal, ch: make(chan callResult, 1)}
	params, pc.token = retagProgress(params, id)
	buf := getBuffer()
	data, err := appendRequest((*buf)[:0], id, true, method, params)
	if err != nil {
		putBuffer(buf, data)
		return nil, notSentError(fmt.Errorf("encoding %s: %w", method, err))
	}
	if err := s.addPending(id, pc); err != nil {
		putBuffer(buf, data)
		return nil, notSentError(err)
	}
	sent, err := s.write(ctx, data)
	if !sent || ctx.Err() == nil { // else a background write may still use data
		putBuffer(buf, data)
	}
	switch {
	case !sent:
		s.removePending(id)
		return nil, err
	case err != nil && ctx.Err() == nil: // the write itself failed
		s.removePending(id)
		return nil, lostError(err)
	case err != nil:
		return nil, s.abandon(ctx, id, method)
	}
	select {
	case r := <-pc.ch: // another goroutine read it
		return r.result, r.err
	case lr := <-s.rtok: // nobody reads: read until the answer comes
		if r, ok := s.readFor(ctx, pc, lr); ok {
			return r.result, r.err
		}
		return nil, s.abandon(ctx, id, method)
	case <-ctx.Done():
		return nil, s.abandon(ctx, id, method)
	}
}

// bufferPool recycles request buffers.
var bufferPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuffer() *[]byte { return bufferPool.Get().(*[]byte) }

// putBuffer recycles data's array (grown from *buf) unless it is large.
func putBuffer(buf *[]byte, data []byte) {
	if cap(data) <= 64<<10 {
		*buf = data[:0]
		bufferPool.Put(buf)
	}
}

// abandon forgets call id after ctx ended and tells the child to stop
// working on it, unless it already answered.
func (s *Session) abandon(ctx context.Context, id int64, method string) error {
	if s.removePending(id) && method != "initialize" { // the spec forbids cancelling initialize
		params, _ := json.Marshal(map[string]any{"requestId": id, "reason": context.Cause(ctx).Error()})
		if data, err := encodeMessage(&jsonrpc.Request{Method: "notifications/cancelled", Params: params}); err == nil {
			s.writeAsync(data)
		}
	}
	return fmt.Errorf("%s: %w", method, ctx.Err())
}

func (s *Session) addPending(id int64, pc *pendingCall) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostErr != nil {
		return s.lostErr
	}
	s.pending[id] = pc
	s.lastCall = time.Now()
	pc.sent = s.lastCall
	s.calls.Add(1)
	return nil
}

// removePending forgets id and reports whether it was still pending.
func (s *Session) removePending(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pending[id]
	delete(s.pending, id)
	return ok
}

// deliver hands a response to the call waiting for it.
func (s *Session) deliver(resp *jsonrpc.Response) {
	id, ok := resp.ID.Raw().(int64)
	if !ok {
		s.log.Warn().Any("id", resp.ID.Raw()).Msg("ignoring a response with an id we never sent")
		return
	}
	s.mu.Lock()
	pc := s.pending[id]
	delete(s.pending, id)
	if pc != nil {
		s.answerTime += (time.Since(pc.sent) - s.answerTime) / 4
	}
	s.mu.Unlock()
	if pc == nil {
		s.log.Debug().Int64("id", id).Msg("ignoring a response to a request no longer pending")
		return
	}
	pc.ch <- responseResult(resp)
}

func responseResult(resp *jsonrpc.Response) callResult {
	if resp.Error != nil {
		var we *jsonrpc.Error
		if errors.As(resp.Error, &we) {
			return callResult{err: &RPCError{Code: we.Code, Message: we.Message, Data: we.Data}}
		}
		return callResult{err: &RPCError{Code: codeInternalError, Message: resp.Error.Error()}}
	}
	if len(resp.Result) == 0 {
		return callResult{result: json.RawMessage("null")}
	}
	return callResult{result: resp.Result}
}
