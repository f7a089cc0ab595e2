package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Call runs one tools/call: it looks the tool up, queues the call with its
// priority, locks and keys, runs it on a child with retries, and returns the
// child's CallToolResult. A tool error (isError) is a Result, not an error.
//
// Cancelling ctx (the client went away) removes a queued call, or cancels a
// running one in the child unless other callers share it. Errors match one
// of this package's sentinels, queue.ErrFull, *mcpconn.RPCError (the child
// refused the request), or ctx.Err() when ctx ended first.
func (b *Bridge) Call(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, hit := b.hit(ctx, req)
	kind, err := KindRead, error(nil)
	if !hit {
		res, kind, err = b.call(ctx, req)
	}
	res.Meta.Duration = time.Since(start)
	outcome := b.record(kind, res, err, res.Meta.Duration)
	if err != nil {
		b.logFailure(req, kind, err)
	}
	if b.cfg.OnCall != nil {
		b.cfg.OnCall(ctx, Finished{Request: req, Kind: kind, Result: res, Err: err, Outcome: outcome, Start: start})
	}
	return res, err
}

// Finished describes a call that has ended, for Config.OnCall.
type Finished struct {
	Request Request
	// Kind is the call's class; KindAuto when it failed before it was
	// classified (an unknown tool, a malformed request).
	Kind Kind
	// Result is what Call returned: its Meta says how the call was served
	// (Duration is always set); Raw is nil when Err is set.
	Result Result
	Err    error
	// Outcome is the mcp_bridge_requests_total outcome label: ok,
	// tool_error, stale, invalid, rejected, timeout, unknown_outcome,
	// failed or cancelled.
	Outcome string
	Start   time.Time
}

func (b *Bridge) call(ctx context.Context, req Request) (Result, Kind, error) {
	if err := checkToolName(req.Tool); err != nil {
		return Result{}, KindAuto, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	// The timeout covers everything from here: tool lookup, queue, run.
	deadline := time.Now().Add(b.timeout(req, b.cfg.Tools[req.Tool]))
	actx, stop := b.withAbort(ctx) // a stop that cannot wait answers the caller
	defer stop()
	cctx, cancel := context.WithDeadline(actx, deadline)
	defer cancel()
	info, err := b.catalog.tool(cctx, req.Tool)
	switch {
	case errors.Is(err, ErrUnknownTool):
		return Result{}, KindAuto, err
	case err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		return Result{}, KindAuto, fmt.Errorf("%w while listing tools: %w", ErrTimeout, err)
	case err != nil && ctx.Err() == nil && b.abortedError(plan{}, false) != nil:
		return Result{}, KindAuto, &StopError{}
	case err != nil:
		return b.fallback(ctx, req, KindAuto, b.unavailable(ctx, err))
	}
	p, err := b.makePlan(req, info)
	if err != nil {
		return Result{}, p.kind, err
	}
	if h := mcpconn.HandlersFrom(ctx); h != nil && h.Exclusive && len(p.locks) == 1 && strings.HasPrefix(p.locks[0], "tool:") {
		// A call that may wait for its client (a person answering an
		// elicitation) would hold a lock on every call of its tool all the
		// while; it runs alone on its child instead.
		p.locks = nil
	}
	if routed(ctx, p.params) {
		p.dedupKey = "" // its progress and child requests are its caller's alone
	} else if b.cfg.Cache != nil && p.kind == KindRead {
		return b.cached(ctx, cctx, deadline, req, p)
	}
	if err := b.breaker.check(); err != nil {
		return b.fallback(ctx, req, p.kind, err)
	}
	res, err := b.enqueue(ctx, cctx, deadline, p)
	if b.cfg.Cache != nil && p.kind == KindWrite && (err == nil || errors.Is(err, ErrOutcomeUnknown)) {
		// The write reached a child: what it targets may have changed, even
		// before Home Assistant's event says so.
		b.cfg.Cache.Wrote(ctx, req.Tool, req.Arguments)
	}
	if err != nil {
		return b.fallback(ctx, req, p.kind, err)
	}
	return res, p.kind, nil
}

// hit answers a read of a known tool from the cache before anything else:
// a hit needs no deadline, no abort hook and no plan. ok is false for
// anything else (an unknown tool or a stale tool list, a write, a call
// whose progress or requests are routed to its caller, a miss), which
// takes the full path.
func (b *Bridge) hit(ctx context.Context, req Request) (Result, bool) {
	if b.cfg.Cache == nil || routed(ctx, req.Meta) || routed(ctx, req.Arguments) || b.abortedError(plan{}, false) != nil {
		return Result{}, false
	}
	info, ok := b.catalog.known(req.Tool)
	if !ok {
		return Result{}, false
	}
	pol, hasPol := b.cfg.Tools[req.Tool]
	kind := pol.Kind
	if kind == KindAuto {
		kind = KindWrite
		if info.readOnly {
			kind = KindRead
		}
	}
	if kind != KindRead {
		return Result{}, false
	}
	a, ok := b.cfg.Cache.Peek(cache.Query{Tool: req.Tool, Args: req.Arguments, Profile: b.cfg.CacheProfile, Control: req.CacheControl})
	if !ok {
		return Result{}, false
	}
	// Tool errors are never stored, so a hit is not one.
	return Result{Raw: a.Raw, Meta: Meta{Cached: true, Priority: b.priority(req, pol, hasPol, kind).String(), Kind: kind,
		CacheExpires: a.Expires, Age: a.Age}}, true
}

// cached answers a read from the cache, or runs it (once for every caller
// of the same read) and lets the cache keep the answer.
func (b *Bridge) cached(ctx, cctx context.Context, deadline time.Time, req Request, p plan) (Result, Kind, error) {
	var res Result
	q := cache.Query{Tool: req.Tool, Args: req.Arguments, Profile: b.cfg.CacheProfile, Control: req.CacheControl}
	a, err := b.cfg.Cache.Do(cctx, q, func(fctx context.Context) (json.RawMessage, error) {
		if err := b.breaker.check(); err != nil {
			return nil, err
		}
		r, err := b.enqueue(ctx, fctx, deadline, p)
		res = r
		return r.Raw, err
	})
	var te *TimeoutError
	switch {
	case errors.Is(err, cache.ErrViewBehind):
		// The children never caught up with Home Assistant's events (an
		// event storm): no answer is current enough to give.
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil && !errors.As(err, &te) && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		// The call's deadline passed while the cache waited: for another
		// caller's fill of the same read, or for a lagging child.
		err = &TimeoutError{After: p.timeout, Err: err}
	}
	if err != nil {
		return b.fallback(ctx, req, p.kind, err)
	}
	switch {
	case a.Cached:
		res = Result{Meta: Meta{Cached: true, Priority: p.priority.String(), Kind: p.kind}}
	case a.Shared:
		res = Result{Meta: Meta{Deduplicated: true, Priority: p.priority.String(), Kind: p.kind}}
	}
	res.Raw = a.Raw
	res.Meta.IsError = isToolError(a.Raw)
	res.Meta.CacheExpires, res.Meta.Age = a.Expires, a.Age
	return res, p.kind, nil
}

// enqueue submits the planned call and waits for its outcome. qctx is ctx
// bounded by the call's deadline.
func (b *Bridge) enqueue(ctx, qctx context.Context, deadline time.Time, p plan) (Result, error) {
	attempts := 0
	var started atomic.Bool // Run was called: a write may have been sent
	out, err := b.queue.Do(qctx, queue.Job{
		Priority:       p.priority,
		Write:          p.kind == KindWrite,
		Locks:          p.locks,
		Group:          p.group,
		DedupKey:       p.dedupKey,
		IdempotencyKey: p.idemKey,
		// The queue's ctx does not carry the caller's deadline (it is
		// shared by every caller of a deduplicated read): apply the first
		// caller's.
		Deadline: deadline,
		Run: func(rctx context.Context) (json.RawMessage, error) {
			started.Store(true)
			if p.kind == KindWrite {
				// A write that started runs to its end (or deadline) even if
				// its caller leaves: cancelling it in the child would leave
				// its effect unknown, and its entity locks must be held until
				// the child is done with it.
				// Only a stop that cannot wait any longer cancels it.
				rctx, cancel := context.WithDeadline(context.WithoutCancel(rctx), deadline)
				defer cancel()
				rctx, stop := b.withAbort(rctx)
				defer stop()
				return b.execute(rctx, p, &attempts)
			}
			return b.execute(rctx, p, &attempts)
		},
	})
	if err != nil {
		// A caller that joined an earlier call (same request id) did not
		// run it: it may have started unless the queue says it had not.
		mayHaveRun := started.Load() || p.idemKey != "" && !errors.Is(err, queue.ErrNotStarted)
		return Result{}, b.finalError(ctx, qctx, p, err, mayHaveRun)
	}
	meta := Meta{
		QueueWait:    out.Wait,
		Attempts:     attempts,
		Deduplicated: out.Shared,
		Replayed:     out.Replayed,
		Priority:     p.priority.String(),
		Kind:         p.kind,
		IsError:      isToolError(out.Value),
	}
	if out.Shared || out.Replayed {
		meta.Attempts = 0 // the execution was another caller's
	}
	return Result{Raw: out.Value, Meta: meta}, nil
}

// finalError turns what the queue returned into the error Call reports.
// started tells whether the job may have run.
func (b *Bridge) finalError(ctx, qctx context.Context, p plan, err error, started bool) error {
	var te *TimeoutError
	if err := b.abortedError(p, started); err != nil && ctx.Err() == nil {
		return err
	}
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("bridge: %w", ctx.Err()) // the caller went away
	case errors.Is(err, queue.ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.As(err, &te):
		return err
	case errors.Is(qctx.Err(), context.DeadlineExceeded) || errors.Is(err, ErrTimeout):
		// The call's time ran out, whether the queue noticed first (the
		// caller left, or every caller did) or the run did.
		return &TimeoutError{After: p.timeout, Write: p.kind == KindWrite, Started: started, Err: err}
	case errors.Is(err, queue.ErrAbandoned) && p.kind == KindWrite:
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err) // a replay of a write whose callers all left
	case errors.Is(err, queue.ErrAbandoned):
		return fmt.Errorf("%w: the first call with this request id was abandoned; use a new request id: %w", ErrUnavailable, err)
	case qctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		return &TimeoutError{After: p.timeout, Write: p.kind == KindWrite, Started: started, Err: err}
	}
	return err
}

// execute runs the call on a child, retrying what is safe to retry. It is
// the queue job's body; ctx ends at the call's deadline or when every
// caller has gone.
func (b *Bridge) execute(ctx context.Context, p plan, attempts *int) (json.RawMessage, error) {
	backoff := b.cfg.RetryBackoff
	lost := 0 // attempts whose session died: a read gets one more, not more
	for n := 1; ; n++ {
		*attempts = n
		raw, err := b.attempt(ctx, p)
		if err == nil {
			return raw, nil
		}
		if errors.Is(err, mcpconn.ErrSessionLost) {
			lost++
		}
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, &TimeoutError{After: p.timeout, Write: p.kind == KindWrite, Started: true, Err: err}
			}
			return nil, err
		}
		if !b.retryable(p, err) || lost > 1 || n >= b.cfg.MaxAttempts {
			return nil, b.attemptsFailed(p, n, err)
		}
		b.metrics.retry(p.kind)
		b.log.Debug().Err(err).Str("tool", p.tool).Int("attempt", n).Msg("retrying call")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, b.attemptsFailed(p, n, err)
		case <-t.C:
		}
		backoff = time.Duration(float64(backoff) * b.cfg.BackoffFactor)
	}
}

// attempt runs the call once, through the breaker.
func (b *Bridge) attempt(ctx context.Context, p plan) (json.RawMessage, error) {
	done, err := b.breaker.allow()
	if err != nil {
		return nil, err
	}
	actx := ctx
	if b.cfg.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, b.cfg.AttemptTimeout)
		defer cancel()
	}
	raw, err := b.exec.Call(actx, p.method, p.params)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		err = fmt.Errorf("attempt timed out after %v: %w", b.cfg.AttemptTimeout, err)
	}
	if errors.Is(err, mcpconn.ErrSessionLost) && ctx.Err() == nil && b.killers.add(p.digest) {
		err = fmt.Errorf("%w: %w", ErrKillsSessions, err)
	}
	done(breakerView(p, err))
	if err != nil && isInvalidParams(err) {
		b.catalog.invalidate() // the child may no longer have the tool
	}
	return raw, err
}

func isInvalidParams(err error) bool {
	var rpcErr *mcpconn.RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == codeInvalidParams
}

// codeInvalidParams is JSON-RPC's "Invalid params", which MCP servers also
// answer for an unknown tool.
const codeInvalidParams = -32602

// retryable reports whether another attempt is safe and may help.
func (b *Bridge) retryable(p plan, err error) bool {
	switch {
	case errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrKillsSessions):
		return false
	case errors.Is(err, mcpconn.ErrNotSent):
		return true // never reached a child: safe even for writes
	case p.kind == KindWrite:
		return false
	}
	return errors.Is(err, mcpconn.ErrSessionLost) || errors.Is(err, context.DeadlineExceeded)
}

// attemptsFailed is the error of an execution that gave up after n attempts.
func (b *Bridge) attemptsFailed(p plan, n int, err error) error {
	var rpcErr *mcpconn.RPCError
	switch {
	case errors.As(err, &rpcErr), errors.Is(err, ErrCircuitOpen):
		return err
	case p.kind == KindRead && errors.Is(err, ErrKillsSessions):
		return err
	case errors.Is(err, mcpconn.ErrNotSent): // never reached a child: nothing happened
		return fmt.Errorf("%w after %d attempt(s): %w", ErrUnavailable, n, err)
	case p.kind == KindWrite && errors.Is(err, mcpconn.ErrSessionLost):
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	case errors.Is(err, context.DeadlineExceeded): // the attempt's own timeout
		return &TimeoutError{After: cmp.Or(b.cfg.AttemptTimeout, p.timeout), Write: p.kind == KindWrite, Started: true,
			Err: fmt.Errorf("%d attempt(s): %w", n, err)}
	}
	return fmt.Errorf("%w after %d attempt(s): %w", ErrUnavailable, n, err)
}

// fallback lets Config.Fallback answer a read that failed because no child
// could serve it.
func (b *Bridge) fallback(ctx context.Context, req Request, kind Kind, err error) (Result, Kind, error) {
	if b.cfg.Fallback == nil || kind == KindWrite ||
		!(errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrUnavailable)) {
		return Result{}, kind, err
	}
	raw, ok := b.cfg.Fallback(ctx, req, err)
	if !ok {
		return Result{}, kind, err
	}
	return Result{Raw: raw, Meta: Meta{Stale: true, Kind: kind, IsError: isToolError(raw)}}, kind, nil
}

func (b *Bridge) logFailure(req Request, kind Kind, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	ev := b.log.Warn()
	if errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrUnknownTool) {
		ev = b.log.Debug()
	}
	ev.Err(err).Str("tool", req.Tool).Str("kind", kind.String()).Str("session", req.SessionID).Str("client", req.Client).Msg("tool call failed")
}
