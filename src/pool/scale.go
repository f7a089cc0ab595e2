package pool

import (
	"context"
	"math"
	"slices"
	"time"
)

// autoscale adjusts the number of children every ScaleInterval (with
// AutoScale) and starts the stateless children calls ask for, until ctx
// ends.
func (p *Pool) autoscale(ctx context.Context) {
	var tick <-chan time.Time
	if p.cfg.AutoScale {
		t := time.NewTicker(p.cfg.ScaleInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			p.scale(ctx)
		case <-p.spawn:
			p.addStateless(ctx)
		}
	}
}

// scale grows the pool by ScaleFactor when the queue is longer than twice
// the children and calls are slow; without such a queue it stops children
// idle for longer than IdleTimeout, keeping at least MinSessions.
func (p *Pool) scale(ctx context.Context) {
	queued := 0
	if p.cfg.QueueLength != nil {
		queued = p.cfg.QueueLength() // outside p.mu: it may take the queue's lock
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != phaseRunning {
		return
	}
	queued += p.waiting
	active := p.activeLocked()
	pressure := queued > 2*len(active)
	// Calls that hang (a Home Assistant domain that does not answer) never
	// end, so they never raise the average: every child busy with calls
	// longer than ScaleUpLatency while others wait is pressure too.
	stuck := queued > 0 && p.allBusyLongLocked(active, time.Now())
	if (pressure && p.avg > p.cfg.ScaleUpLatency || stuck) && len(active) < p.cfg.MaxSessions {
		want := min(p.cfg.MaxSessions, max(len(active)+1, int(math.Ceil(float64(len(active))*p.cfg.ScaleFactor))))
		p.log.Info().Int("queued", queued).Dur("avg_response", p.avg).Bool("all_busy_long", stuck).
			Int("from", len(active)).Int("to", want).Msg("scaling up")
		for range want - len(active) {
			p.addSlotLocked(ctx, false)
		}
		p.updateLocked()
		return
	}
	if !pressure {
		p.retireIdleLocked(active, p.cfg.MinSessions)
	}
	p.retireIdleLocked(p.statelessLocked(), 0) // started on demand, stopped when not needed
}

// activeLocked returns the handshake-era slots not being retired: the
// ones MinSessions and MaxSessions count.
func (p *Pool) activeLocked() []*slot {
	var active []*slot
	for _, sl := range p.slots {
		if !sl.retiring && !sl.stateless {
			active = append(active, sl)
		}
	}
	return active
}

// retireIdleLocked retires ready children of active idle for longer than
// IdleTimeout, longest idle first, down to keep. A child holding resource
// subscriptions stays: its updates would stop.
func (p *Pool) retireIdleLocked(active []*slot, keep int) {
	now := time.Now()
	var idle []*slot
	for _, sl := range active {
		if sl.state == stateReady && sl.inflight == 0 && sl.subs == 0 && now.Sub(sl.lastUsed) > p.cfg.IdleTimeout {
			idle = append(idle, sl)
		}
	}
	slices.SortFunc(idle, func(a, b *slot) int { return a.lastUsed.Compare(b.lastUsed) })
	n := min(len(idle), len(active)-keep)
	for _, sl := range idle[:max(n, 0)] {
		sl.retiring = true
		close(sl.retire)
		p.log.Info().Int("slot", sl.id).Dur("idle", now.Sub(sl.lastUsed)).Msg("scaling down an idle child")
	}
	if n > 0 {
		p.updateLocked()
	}
}

// take counts one more call in flight on sl.
func (sl *slot) take() {
	if sl.inflight == 0 {
		sl.busySince = time.Now()
	}
	sl.inflight++
}

// allBusyLongLocked reports whether every active child is ready, full, and
// has finished no call for longer than ScaleUpLatency while busy.
func (p *Pool) allBusyLongLocked(active []*slot, now time.Time) bool {
	if len(active) == 0 {
		return false
	}
	for _, sl := range active {
		if sl.state != stateReady || sl.inflight < p.cfg.MaxInflightPerSession {
			return false
		}
		since := sl.busySince
		if sl.lastUsed.After(since) {
			since = sl.lastUsed // a call ended since: count from then
		}
		if now.Sub(since) <= p.cfg.ScaleUpLatency {
			return false
		}
	}
	return true
}
