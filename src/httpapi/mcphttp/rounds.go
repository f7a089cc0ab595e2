package mcphttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Multi-round trips, for 2026-07-28 clients. A handshake-era child asks
// for sampling, elicitation or roots with requests of its own while a call
// runs, but a 2026-07-28 client takes no requests: it expects an
// input_required result naming what the server needs, and retries the call
// with the answers and the result's requestState. So the bridge runs such a
// call detached from the HTTP request, parks it when the child asks, answers
// the client input_required, and resumes the call with the answers when the
// client retries.

// A parked call holds its child: the child waits for the answer to its
// request. Config.InputTimeout bounds that wait; a call whose child speaks
// 2026-07-28 itself is never parked (see pool.Config.MaxStatelessSessions):
// its child answers input_required and is free at once.

// Bounds of the parked calls.
const (
	maxRounds  = 1000                  // parked calls at once
	roundGrace = 20 * time.Millisecond // a child's requests made together go in one answer
	roundKeep  = time.Minute           // a finished call's result waits this long for its retry
)

// errShutdown is the error a child's parked request gets when the bridge
// stops.
var errShutdown = &mcpconn.RPCError{Code: -32603, Message: "the bridge is shutting down; no client input will come"}

// errCallEnded is the error a child's request gets when its call ended
// (timed out, or cancelled) before the client answered.
var errCallEnded = &mcpconn.RPCError{Code: -32603, Message: "the call this request belongs to has ended; no client input will come"}

// errNoRoom is the error a child's request gets when too many calls are
// parked.
var errNoRoom = &mcpconn.RPCError{Code: -32603, Message: "the bridge has too many calls waiting for client input"}

// rounds holds the parked calls by requestState. It is safe for concurrent
// use.
type rounds struct {
	mu sync.Mutex // guards m
	m  map[string]*round
}

// round is one call that may need client input.
type round struct {
	state  string // requestState; the round is in the table once the child asks
	owner  string // the principal that started it
	asks   chan *ask
	cancel context.CancelFunc // cancels the call
	done   chan struct{}      // closed when the call ended; raw and err are then set
	raw    json.RawMessage
	err    error

	mu      sync.Mutex // guards pending, next, parked, expired
	pending map[string]*ask
	next    int
	parked  *time.Timer // runs while the client has the input_required answer
	expired bool        // the client did not come back within InputTimeout
}

// ask is one request of the child's, waiting for the client's answer.
type ask struct {
	method string
	params json.RawMessage
	reply  chan askReply // buffered 1
}

type askReply struct {
	raw json.RawMessage
	err error
}

// roundTrip serves a tools/call, prompts/get or resources/read for a
// 2026-07-28 client: it starts run (state == "") or resumes the parked call
// state names with the client's responses, and returns the child's result,
// or an input_required result, as raw JSON carrying resultType.
//
// owner is the request's principal: only the same principal may resume a
// parked call.
func (h *Handler) roundTrip(ctx context.Context, ss *mcp.ServerSession, owner, state string, responses mcp.InputResponseMap,
	run func(context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
	var r *round
	if state == "" {
		r = &round{state: statePrefix + rand.Text(), owner: owner, asks: make(chan *ask), done: make(chan struct{}), pending: map[string]*ask{}}
		h.start(ctx, ss, r, run)
	} else {
		r = h.rounds.get(state)
		if r == nil || r.owner != owner {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "requestState is unknown or expired; call again without it"}
		}
		if !r.resume() {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("requestState expired: the call "+
				"waited more than %v for the client's input and was cancelled; call again without requestState", h.cfg.InputTimeout)}
		}
		if err := r.answer(responses); err != nil {
			return nil, err
		}
	}
	raw, err := h.await(ctx, r)
	select {
	case <-r.done: // answered with how it ended: no wait for a retry
	default:
		if err == nil && r.waiting() {
			r.park(h.cfg.InputTimeout, func() { h.expire(r) })
		}
	}
	return raw, err
}

// park starts the wait for the client's retry; expire runs if it does not
// come within d.
func (r *round) park(d time.Duration, expire func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.parked != nil {
		r.parked.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		r.mu.Lock()
		if r.parked != t { // the client came back meanwhile
			r.mu.Unlock()
			return
		}
		r.parked, r.expired = nil, true
		r.mu.Unlock()
		expire()
	})
	r.parked = t
}

// resume ends the wait for the client's retry, unless it expired.
func (r *round) resume() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.expired {
		return false
	}
	if r.parked != nil {
		r.parked.Stop()
		r.parked = nil
	}
	return true
}

// expire cancels a call whose client did not bring its input in time: the
// child gets notifications/cancelled and is free for other calls.
func (h *Handler) expire(r *round) {
	h.log.Info().Dur("input_timeout", h.cfg.InputTimeout).
		Msg("a call waited too long for its client's input (input_required); cancelled in its child")
	r.cancel()
}

// start runs the call detached from the HTTP request, which ends at the
// first input_required answer; the call's own timeout bounds it.
func (h *Handler) start(ctx context.Context, ss *mcp.ServerSession, r *round, run func(context.Context) (json.RawMessage, error)) {
	q := newNotifyQueue(notifyQueueSize) // see route
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	cctx = mcpconn.WithHandlers(cctx, &mcpconn.Handlers{
		Exclusive: true,
		// On a child in the client's own protocol, the child answers
		// input_required itself, with its own names, and Request never
		// runs; the pool falls back to the other children when they do not
		// speak it, or are all busy.
		ProtocolVersion: mcpconn.StatelessProtocolVersion,
		Notification: func(method string, params json.RawMessage) {
			params = bytes.Clone(params)
			q.push(func() { h.toClient(ctx, ss, method, params) })
		},
		Request: func(actx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
			return h.ask(actx, r, method, params)
		},
	})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		raw, err := run(cctx)
		cancel()
		q.finish()
		r.raw, r.err = raw, err
		if h.rounds.finish(r) {
			// A retry may still come for the answer: keep it a while.
			state := r.state
			time.AfterFunc(roundKeep, func() { h.rounds.remove(state) })
		}
	}()
}

// ask parks a request of the child's until the client answers it.
func (h *Handler) ask(ctx context.Context, r *round, method string, params json.RawMessage) (json.RawMessage, error) {
	switch ok, ended := h.rounds.register(r); {
	case ended: // a request that came after its call
		return nil, errCallEnded
	case !ok:
		return nil, errNoRoom
	}
	a := &ask{method: method, params: params, reply: make(chan askReply, 1)}
	select {
	case r.asks <- a:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done: // the call ended (cancelled): no one will answer
		return nil, errCallEnded
	case <-h.closing:
		return nil, errShutdown
	}
	select {
	case rep := <-a.reply:
		return rep.raw, rep.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done:
		return nil, errCallEnded
	case <-h.closing:
		return nil, errShutdown
	}
}

// await waits for the call to end or to need input, and says which.
func (h *Handler) await(ctx context.Context, r *round) (json.RawMessage, error) {
	select {
	case <-r.done: // ended while it waited (timed out, child lost): nothing more to ask
	default:
		if r.waiting() {
			return r.inputRequired()
		}
	}
	select {
	case <-r.done:
		h.rounds.remove(r.state)
		if r.err != nil {
			return nil, r.err
		}
		if childNeedsInput(r.raw) {
			// The child's own multi-round trip (it asked again after the
			// answers it got): the client answers it with the child's state.
			return withResultType(r.raw, "input_required"), nil
		}
		return withResultType(r.raw, "complete"), nil
	case a := <-r.asks:
		r.add(a)
	case <-ctx.Done():
		// The client closed the request's stream while the call ran: in
		// the 2026-07-28 era that cancels it.
		r.cancel()
		return nil, ctx.Err()
	}
	t := time.NewTimer(roundGrace)
	defer t.Stop()
	for {
		select {
		case a := <-r.asks:
			r.add(a)
		case <-t.C:
			return r.inputRequired()
		}
	}
}

func (r *round) add(a *ask) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.pending[r.state+"-"+strconv.Itoa(r.next)] = a
}

func (r *round) waiting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) > 0
}

// answer hands the client's responses to the child's parked requests;
// responses to requests not pending are ignored.
func (r *round) answer(responses mcp.InputResponseMap) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, resp := range responses {
		a := r.pending[id]
		if a == nil {
			continue
		}
		raw, err := json.Marshal(resp)
		if err != nil {
			return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "inputResponses[" + id + "]: " + err.Error()}
		}
		a.reply <- askReply{raw: raw}
		delete(r.pending, id)
	}
	return nil
}

// inputRequired is the input_required result naming every pending request.
func (r *round) inputRequired() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	type wire struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params,omitempty"`
	}
	reqs := make(map[string]wire, len(r.pending))
	for id, a := range r.pending {
		reqs[id] = wire{a.method, a.params}
	}
	return json.Marshal(map[string]any{"resultType": "input_required", "inputRequests": reqs, "requestState": r.state})
}

// register puts r in the table, where a retry finds it, on the child's
// first request; ended if r's call has ended (finish), when no retry
// could resume it and nothing would take it out of the table.
func (t *rounds) register(r *round) (ok, ended bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-r.done:
		return false, true
	default:
	}
	if t.m[r.state] == r {
		return true, false
	}
	if len(t.m) >= maxRounds {
		return false, false
	}
	if t.m == nil {
		t.m = make(map[string]*round)
	}
	t.m[r.state] = r
	return true, false
}

// finish marks r's call ended and reports whether r is in the table, where
// a retry may yet look for its answer. A round never registered (its call
// asked for no input) is left to the garbage collector at once: no timer
// keeps it, and its result, for roundKeep.
func (t *rounds) finish(r *round) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	close(r.done)
	return t.m[r.state] == r
}

func (t *rounds) get(state string) *round {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[state]
}

func (t *rounds) remove(state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, state)
}

// statePrefix marks the requestStates the bridge makes; any other is a
// child's own, passed back to it.
const statePrefix = "mcp-bridge-"

// ours reports whether the bridge made requestState state.
func ours(state string) bool { return strings.HasPrefix(state, statePrefix) }

// childsRound reports whether a retry answers the child's own
// input_required: it carries the child's requestState, or answers without
// one (a child may keep no state), where the bridge's rounds always have
// one of the bridge's.
func childsRound(state string, responses mcp.InputResponseMap) bool {
	return state != "" && !ours(state) || state == "" && len(responses) > 0
}

// childNeedsInput reports whether a child's result asks for input itself.
func childNeedsInput(raw json.RawMessage) bool {
	var r struct {
		InputRequests map[string]json.RawMessage `json:"inputRequests"`
	}
	return json.Unmarshal(raw, &r) == nil && len(r.InputRequests) > 0
}

// withResultType returns a result object with "resultType" set, which the
// SDK's result types read back when decoding.
func withResultType(raw json.RawMessage, rt string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return raw
	}
	m["resultType"], _ = json.Marshal(rt)
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
