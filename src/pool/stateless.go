package pool

import (
	"context"
	"errors"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Children in the stateless protocol. A 2026-07-28 client's call that may
// need the client's input runs best on a child spoken to in that protocol:
// the child then answers an input_required result of its own, with its own
// names for what it needs, where a child in the handshake era sends
// requests that the bridge must name and hold. Such children start on the
// first call that asks for one (mcpconn.Handlers.ProtocolVersion), up to
// MaxStatelessSessions; the first start tells whether the children speak
// the protocol at all.

// statelessSupport is what the pool knows of its children's stateless
// protocol. Its fields are guarded by Pool.mu.
type statelessSupport struct {
	// refused is set when a child answered server/discover without the
	// protocol: it never will.
	refused bool
	// retryAt, when set, is until when calls run on the other children
	// after a stateless child failed to start for another reason; the
	// wait doubles with each failure in a row (failures), from
	// RestartBackoffMax up to statelessRetryMax.
	retryAt  time.Time
	failures int
}

// statelessStartTimeout bounds a stateless child's start, below
// StartTimeout: a call waits for it, and a child that does not know
// server/discover may never answer it.
const statelessStartTimeout = 10 * time.Second

// statelessRetryMax bounds the wait before trying a stateless child again
// after failures.
const statelessRetryMax = time.Hour

// statelessUsableLocked reports whether a call asking for the stateless
// protocol can have a stateless child.
func (p *Pool) statelessUsableLocked() bool {
	return p.cfg.MaxStatelessSessions > 0 && !p.stateless.refused && !time.Now().Before(p.stateless.retryAt)
}

// statelessLocked returns the stateless slots not being retired.
func (p *Pool) statelessLocked() []*slot {
	var out []*slot
	for _, sl := range p.slots {
		if sl.stateless && !sl.retiring {
			out = append(out, sl)
		}
	}
	return out
}

// wantStatelessLocked asks Run for one more stateless child unless one is
// on its way or there are MaxStatelessSessions.
func (p *Pool) wantStatelessLocked() {
	if p.phase != phaseRunning || !p.moreStatelessLocked() {
		return
	}
	select {
	case p.spawn <- struct{}{}:
	default: // asked already
	}
}

// moreStatelessLocked reports whether another stateless child may start:
// fewer than MaxStatelessSessions, and none starting or restarting.
func (p *Pool) moreStatelessLocked() bool {
	all := p.statelessLocked()
	for _, sl := range all {
		if sl.state != stateReady {
			return false
		}
	}
	return len(all) < p.cfg.MaxStatelessSessions
}

// statelessComingLocked reports whether a stateless child may soon be
// free without another call ending: one is starting, or another may start.
// One stopping or waiting out its restart backoff (after a crash, up to
// RestartBackoffMax) is not worth waiting for: the other children serve.
func (p *Pool) statelessComingLocked() bool {
	all := p.statelessLocked()
	for _, sl := range all {
		if sl.state == stateStarting {
			return true
		}
	}
	for _, sl := range all {
		if sl.state != stateReady {
			return false // no other may start meanwhile (moreStatelessLocked)
		}
	}
	return len(all) < p.cfg.MaxStatelessSessions
}

// addStateless starts a stateless child if one is still wanted.
func (p *Pool) addStateless(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != phaseRunning || !p.statelessUsableLocked() || !p.moreStatelessLocked() {
		return
	}
	p.addSlotLocked(ctx, true)
	p.updateLocked()
}

// statelessFailed records that a stateless child failed to start: if it
// does not speak the protocol, calls run on the other children from now
// on; after any other failure, for RestartBackoffMax. Waiting calls wake to
// take another child.
func (p *Pool) statelessFailed(sl *slot, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if errors.Is(err, mcpconn.ErrUnsupportedVersion) {
		p.stateless.refused = true
		p.log.Info().Err(err).Int("slot", sl.id).
			Msg("the children do not speak the 2026-07-28 protocol; its clients' calls run on the other children")
	} else {
		wait := min(p.cfg.RestartBackoffMax<<min(p.stateless.failures, 20), statelessRetryMax)
		p.stateless.failures++
		p.stateless.retryAt = time.Now().Add(wait)
		p.m.startFailures.Inc()
		p.log.Warn().Err(err).Int("slot", sl.id).Dur("retry_after", wait).
			Msg("a child in the 2026-07-28 protocol failed to start; its clients' calls run on the other children meanwhile")
	}
	p.updateLocked()
}
