package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// route attaches to ctx the Handlers that carry what a child sends about
// this call to its client: progress and log messages as notifications on
// the request's own stream, sampling, elicitation and roots requests as
// requests to the client. ctx is the SDK's request context: it tells the
// SDK which request (and so which stream) a message relates to.
//
// The child's notifications are read on the goroutine that reads the
// child, which must never wait for a client: they go through a bounded
// queue (an overflow drops progress and log messages, which are advice),
// and finish waits, at most notifyTimeout, until the queue is delivered,
// so that the result follows them. Call finish once the call has ended.
func (h *Handler) route(ctx context.Context, ss *mcp.ServerSession) (rctx context.Context, finish func()) {
	if ss == nil {
		return ctx, func() {}
	}
	q := newNotifyQueue(notifyQueueSize)
	return mcpconn.WithHandlers(ctx, &mcpconn.Handlers{
		Exclusive: answersRequests(ss),
		Notification: func(method string, params json.RawMessage) {
			params = bytes.Clone(params) // the reader reuses its buffer
			if !q.push(func() { h.toClient(ctx, ss, method, params) }) {
				h.log.Debug().Str("method", method).Msg("a slow client: dropped a notification about its call")
			}
		},
		Request: func(cctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
			// The SDK needs ctx's values; the child may cancel through cctx.
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(cctx, cancel)
			defer stop()
			return askClient(rctx, ss, method, params)
		},
	}), q.finish
}

// notifyQueueSize bounds the notifications of one call waiting for its
// client.
const notifyQueueSize = 64

// notifyQueue delivers notifications to a client in order, on a goroutine
// of its own that starts with the first one (most calls have none) and
// ends with finish. It is safe for concurrent use.
type notifyQueue struct {
	size int

	mu     sync.Mutex // guards the fields below and sends on ch
	closed bool
	ch     chan func() // nil until the first push
	done   chan struct{}
}

func newNotifyQueue(size int) *notifyQueue { return &notifyQueue{size: size} }

// push queues f, or reports false when the queue is full or finished (a
// message the child sent as the call ended).
func (q *notifyQueue) push(f func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if q.ch == nil {
		q.ch, q.done = make(chan func(), q.size), make(chan struct{})
		go func(ch chan func(), done chan struct{}) {
			defer close(done)
			for f := range ch {
				f()
			}
		}(q.ch, q.done)
	}
	select {
	case q.ch <- f:
		return true
	default:
		return false
	}
}

// finish ends the queue and waits, at most notifyTimeout, for what it
// holds to be delivered.
func (q *notifyQueue) finish() {
	q.mu.Lock()
	started := q.ch != nil
	if !q.closed && started {
		close(q.ch)
	}
	q.closed = true
	q.mu.Unlock()
	if !started {
		return
	}
	t := time.NewTimer(notifyTimeout)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C: // a stuck client; the goroutine ends with its write
	}
}

// answersRequests reports whether the client declared it can answer a
// child's requests: then its calls run alone on a child, so that the
// child's requests during the call are known to be its.
func answersRequests(ss *mcp.ServerSession) bool {
	p := ss.InitializeParams()
	if p == nil || p.Capabilities == nil {
		return false
	}
	c := p.Capabilities
	return c.Sampling != nil || c.Elicitation != nil || c.RootsV2 != nil || c.Roots.ListChanged
}

// toClient passes a child's notification about a call to its client.
func (h *Handler) toClient(ctx context.Context, ss *mcp.ServerSession, method string, params json.RawMessage) {
	var err error
	switch method {
	case "notifications/progress":
		var p mcp.ProgressNotificationParams
		if err = json.Unmarshal(params, &p); err == nil {
			err = ss.NotifyProgress(ctx, &p)
		}
	case "notifications/message":
		var p mcp.LoggingMessageParams
		if err = json.Unmarshal(params, &p); err == nil {
			err = ss.Log(ctx, &p)
		}
	default:
		h.log.Debug().Str("method", method).Msg("not passing a child's notification to the client")
		return
	}
	if err != nil {
		h.log.Debug().Err(err).Str("method", method).Msg("passing a child's notification to the client")
	}
}

// askClient passes a child's request to the client and returns the
// client's answer.
func askClient(ctx context.Context, ss *mcp.ServerSession, method string, params json.RawMessage) (json.RawMessage, error) {
	var res any
	var err error
	switch method {
	case "sampling/createMessage":
		res, err = createMessage(ctx, ss, params)
	case "elicitation/create":
		var p mcp.ElicitParams
		if err = json.Unmarshal(params, &p); err == nil {
			res, err = ss.Elicit(ctx, &p)
		}
	case "roots/list":
		var p mcp.ListRootsParams
		if err = json.Unmarshal(params, &p); err == nil {
			res, err = ss.ListRoots(ctx, &p)
		}
	default:
		return nil, &mcpconn.RPCError{Code: jsonrpc.CodeMethodNotFound, Message: "the bridge does not relay " + method}
	}
	if err != nil {
		return nil, clientError(method, err)
	}
	return json.Marshal(res)
}

// createMessage asks the client to sample, with tools when the child
// offers some.
func createMessage(ctx context.Context, ss *mcp.ServerSession, params json.RawMessage) (any, error) {
	var probe struct {
		Tools json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(params, &probe); err != nil {
		return nil, err
	}
	if len(probe.Tools) > 0 {
		var p mcp.CreateMessageWithToolsParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, err
		}
		return ss.CreateMessageWithTools(ctx, &p)
	}
	var p mcp.CreateMessageParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, err
	}
	return ss.CreateMessage(ctx, &p)
}

// clientError is the error the child gets when its request to the client
// failed: the client's own JSON-RPC error as it is, else a description.
func clientError(method string, err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return &mcpconn.RPCError{Code: we.Code, Message: we.Message, Data: we.Data}
	}
	return &mcpconn.RPCError{Code: -32603, Message: fmt.Sprintf("the client could not answer %s: %v", method, err)}
}
