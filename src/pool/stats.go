package pool

import "time"

// Stats is a snapshot of the pool.
type Stats struct {
	Total     int // slots: children running, starting or waiting to restart
	Busy      int // ready children with calls in flight
	Idle      int // ready children with none
	Starting  int
	Unhealthy int    // children that failed a health check, being stopped
	Restarts  uint64 // children started again after a failure
	// AvgResponse is a moving average of answered calls' durations.
	AvgResponse time.Duration
	// ByStatus counts slots by state: starting, idle, busy, draining,
	// unhealthy, stopping, backoff.
	ByStatus map[string]int
	// Waiting is the number of callers waiting for a free child.
	Waiting int
	// Failing is true when no child is ready and the last start failed:
	// calls fail at once with ErrUnavailable.
	Failing bool
	// LastError is the last start failure, "" once a start succeeds.
	LastError string
	// Backoff is the longest restart delay slots are waiting out now.
	Backoff time.Duration
}

// Stats returns a snapshot of the pool.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := p.countsLocked()
	s := Stats{
		Total:       len(p.slots),
		Busy:        counts[stateBusy],
		Idle:        counts[stateIdle],
		Starting:    counts[stateStarting],
		Unhealthy:   counts[stateUnhealthy],
		Restarts:    p.restarts,
		AvgResponse: p.avg,
		ByStatus:    counts,
		Waiting:     p.waiting,
	}
	if p.startErr != nil {
		s.LastError = p.startErr.Error()
		_, s.Failing = p.unavailableLocked(false).(*unavailableError)
	}
	for _, sl := range p.slots {
		if sl.state == stateBackoff {
			s.Backoff = max(s.Backoff, sl.backoff)
		}
	}
	return s
}
