package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Call sends a request to the least busy ready child, waiting (bounded by
// ctx) while every child is at MaxInflightPerSession. If ctx ends after the
// request was sent, the child gets notifications/cancelled. Messages the
// child sends about the call go to the handlers set on ctx with
// [mcpconn.WithHandlers].
//
// Errors wrap [mcpconn.ErrNotSent] (never reached a child: the pool is
// closed ([ErrClosed]), children cannot start ([ErrUnavailable]) or ctx
// ended while waiting), [mcpconn.ErrSessionLost] (the child died after
// receiving it), [*mcpconn.RPCError] (the child answered an error), or
// ctx's error.
//
// resources/subscribe and unsubscribe go to the child that holds the
// subscription; a child that restarts is subscribed again (see
// subscribe.go).
func (p *Pool) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	switch method {
	case "resources/subscribe":
		return p.subscribe(ctx, params)
	case "resources/unsubscribe":
		return p.unsubscribe(ctx, params)
	}
	for attempt := 1; ; attempt++ {
		sl, sess, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		res, err := sess.Call(ctx, method, params)
		p.release(sl, time.Since(start), answered(err))
		if err == nil {
			return res, nil
		}
		// A child lost just before the write: the request never left, so
		// another child may take it.
		if errors.Is(err, mcpconn.ErrNotSent) && sess.Err() != nil && ctx.Err() == nil && attempt < 3 {
			continue
		}
		return nil, fmt.Errorf("pool: %s (pid %d): %w", sess.Name(), sess.Pid(), err)
	}
}

// answered reports whether err (from a call) still means the child answered.
func answered(err error) bool {
	if err == nil {
		return true // before rpcErr, which escapes: no allocation on success
	}
	var rpcErr *mcpconn.RPCError
	return errors.As(err, &rpcErr)
}

// acquire reserves an in-flight slot on the least busy ready child; for a
// call whose Handlers ask to be exclusive, a whole idle child. A call whose
// Handlers ask for the stateless protocol gets a stateless child (started
// if need be), unless the children do not speak it or MaxStatelessSessions
// are busy: then any child.
func (p *Pool) acquire(ctx context.Context) (*slot, *mcpconn.Session, error) {
	exclusive, stateless := false, false
	if h := mcpconn.HandlersFrom(ctx); h != nil {
		exclusive, stateless = h.Exclusive, h.ProtocolVersion == mcpconn.StatelessProtocolVersion
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	stateless = stateless && p.statelessUsableLocked()
	if picked := p.pickLocked(exclusive, stateless); picked != nil { // a free child: no wait to account for
		p.takeLocked(picked, exclusive)
		return picked, picked.sess, nil
	}
	p.waiting++
	p.m.waiting.Set(float64(p.waiting))
	var picked *slot
	err := p.await(ctx, func() (bool, error) {
		stateless = stateless && p.statelessUsableLocked() // else the other children
		if stateless {
			if picked = p.pickLocked(exclusive, true); picked != nil {
				return true, nil
			}
			if p.phase == phaseClosed {
				return false, errClosed
			}
			if p.statelessComingLocked() {
				p.wantStatelessLocked()
				return false, nil
			}
			// Every stateless child is busy: any free child serves it.
		}
		if picked = p.pickLocked(exclusive, false); picked != nil {
			return true, nil
		}
		return false, p.unavailableLocked(stateless)
	})
	p.waiting--
	p.m.waiting.Set(float64(p.waiting))
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, mcpconn.ErrNotSent) {
			return nil, nil, fmt.Errorf("pool: waiting for a free child: %w: %w", mcpconn.ErrNotSent, err)
		}
		return nil, nil, err
	}
	p.takeLocked(picked, exclusive)
	return picked, picked.sess, nil
}

func (p *Pool) takeLocked(sl *slot, exclusive bool) {
	sl.take()
	sl.exclusive = exclusive
	p.updateLocked()
}

// pickLocked returns the ready child of the era asked for (stateless or
// not) with the fewest calls in flight, or nil if all are full; with
// exclusive, only a child with none. Among equals
// it takes the most recently used: a child that just answered is warm (its
// pages and caches in memory, its threads awake), while one left idle goes
// cold and, under autoscaling, can be stopped after IdleTimeout.
func (p *Pool) pickLocked(exclusive, stateless bool) *slot {
	if p.phase == phaseClosed {
		return nil
	}
	var best *slot
	for _, sl := range p.slots {
		if sl.stateless != stateless || sl.state != stateReady || sl.retiring || sl.exclusive || sl.sess.Err() != nil ||
			sl.inflight >= p.cfg.MaxInflightPerSession || (exclusive && sl.inflight > 0) {
			continue
		}
		if best == nil || sl.inflight < best.inflight ||
			(sl.inflight == best.inflight && sl.lastUsed.After(best.lastUsed)) {
			best = sl
		}
	}
	return best
}

// release returns the in-flight slot taken by acquire. Durations of
// answered calls feed the average that autoscaling and Stats use.
func (p *Pool) release(sl *slot, d time.Duration, answered bool) {
	if answered {
		p.m.callDuration.Observe(d.Seconds())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sl.inflight--
	sl.exclusive = false
	sl.lastUsed = time.Now()
	if answered {
		if p.avg == 0 {
			p.avg = d
		} else {
			p.avg += (d - p.avg) / 8 // moving average over roughly the last 8 calls
		}
	}
	p.updateLocked()
}
