package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Slot states, as reported in Stats.ByStatus and the sessions metric.
const (
	stateStarting  = "starting"  // spawning and initializing
	stateReady     = "ready"     // serving; reported as idle or busy
	stateIdle      = "idle"      // ready, no call in flight
	stateBusy      = "busy"      // ready, calls in flight
	stateDraining  = "draining"  // stopping: waiting for calls in flight
	stateUnhealthy = "unhealthy" // failed a health check, being stopped
	stateStopping  = "stopping"  // being stopped
	stateBackoff   = "backoff"   // waiting to restart after a failure
)

// phase of the pool as a whole.
type phase int

const (
	phaseNew phase = iota
	phaseRunning
	phaseClosed
)

// Pool supervises children and routes calls to them. Create it with New;
// it serves calls while Run runs. Its methods are safe for concurrent use.
type Pool struct {
	cfg Config
	log zerolog.Logger
	m   *metrics
	wg  sync.WaitGroup // slot goroutines

	mu         sync.Mutex // guards the fields below
	phase      phase
	slots      map[int]*slot
	nextID     int
	changed    chan struct{} // closed when the fields change; nil until someone waits (see changedLocked)
	waiting    int           // callers in acquire
	startErr   error         // last start failure; nil once a start succeeds
	restarts   uint64
	avg        time.Duration // moving average of answered calls
	initResult json.RawMessage

	// stateless is what the pool knows of its children's 2026-07-28
	// protocol (see stateless.go); spawn asks Run for a stateless child.
	stateless statelessSupport
	spawn     chan struct{} // buffered 1

	subs map[string]*subscription // resource uri -> the subscription (subscribe.go)
}

// slot is one place for a child; its goroutine restarts the child as
// needed. Fields are guarded by Pool.mu.
type slot struct {
	id        int
	state     string
	sess      *mcpconn.Session // non-nil while ready or draining
	inflight  int
	exclusive bool // its one call in flight must be alone (see mcpconn.Handlers.Exclusive)
	stateless bool // its child speaks the stateless protocol (Config.MaxStatelessSessions)
	subs      int  // resource subscriptions its child holds (subscribe.go): never retired
	lastUsed  time.Time
	retiring  bool          // chosen by scale down; no new calls
	retire    chan struct{} // closed to stop the slot for good
	backoff   time.Duration // current restart delay while in backoff
	lastErr   error

	// busySince is when inflight last rose from 0: with lastUsed (the last
	// call's end) it tells how long the slot has gone without finishing a
	// call while busy.
	busySince time.Time
}

// New checks cfg and returns a pool that starts children when Run is called.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Command = append([]string(nil), cfg.Command...)
	cfg.Env = append([]string(nil), cfg.Env...)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("pool: registering metrics: %w", err)
	}
	p := &Pool{
		cfg:   cfg,
		log:   cfg.Logger.With().Str("component", "pool").Logger(),
		m:     m,
		slots: make(map[int]*slot),
		spawn: make(chan struct{}, 1),
	}
	if cfg.Registerer != nil {
		util := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcp_bridge_pool_utilization_ratio",
			Help: "Share of the ready children's capacity in use: calls in flight over ready children times max in flight (1 when none is ready and calls wait).",
		}, p.utilization)
		if err := cfg.Registerer.Register(util); err != nil {
			return nil, fmt.Errorf("pool: registering metrics: %w", err)
		}
	}
	return p, nil
}

// Run starts TargetSessions children and supervises them until ctx ends.
// Then it refuses new calls, lets calls in flight finish for up to
// DrainTimeout, stops every child in the spec's order and waits for them.
// It returns nil after a clean stop; it may be called once.
func (p *Pool) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.phase != phaseNew {
		p.mu.Unlock()
		return errors.New("pool: Run called twice")
	}
	p.phase = phaseRunning
	for range p.cfg.TargetSessions {
		p.addSlotLocked(ctx, false)
	}
	p.updateLocked()
	p.mu.Unlock()
	p.log.Info().Strs("command", p.cfg.Command).Int("sessions", p.cfg.TargetSessions).Msg("pool starting")

	p.autoscale(ctx)

	p.mu.Lock()
	p.phase = phaseClosed
	p.updateLocked()
	p.mu.Unlock()
	p.log.Info().Msg("pool stopping")
	p.wg.Wait()
	p.log.Info().Msg("pool stopped")
	return nil
}

// addSlotLocked starts a slot goroutine, for a stateless child or not.
func (p *Pool) addSlotLocked(ctx context.Context, stateless bool) {
	p.nextID++
	sl := &slot{id: p.nextID, state: stateStarting, retire: make(chan struct{}), stateless: stateless}
	p.slots[sl.id] = sl
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.runSlot(ctx, sl)
	}()
}

// updateLocked wakes everyone waiting for a change and refreshes gauges.
func (p *Pool) updateLocked() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	var counts [len(slotStates)]int
	for _, sl := range p.slots {
		if i := stateIndex(sl.stateLocked()); i >= 0 {
			counts[i]++
		}
	}
	for i, g := range p.m.states {
		g.Set(float64(counts[i]))
	}
	p.m.waiting.Set(float64(p.waiting))
}

// changedLocked returns a channel closed at the next change. It is made on
// demand, so that calls, which change the fields twice each, allocate no
// channel while nobody waits.
func (p *Pool) changedLocked() <-chan struct{} {
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// countsLocked counts slots by state.
func (p *Pool) countsLocked() map[string]int {
	counts := make(map[string]int, len(slotStates))
	for _, sl := range p.slots {
		counts[sl.stateLocked()]++
	}
	return counts
}

// stateLocked refines "ready" into idle or busy.
func (sl *slot) stateLocked() string {
	if sl.state != stateReady {
		return sl.state
	}
	if sl.inflight > 0 {
		return stateBusy
	}
	return stateIdle
}

// await waits until ready (called with p.mu held) returns true or an error.
// p.mu is held when await returns.
func (p *Pool) await(ctx context.Context, ready func() (bool, error)) error {
	for {
		if ok, err := ready(); ok || err != nil {
			return err
		}
		ch := p.changedLocked()
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			p.mu.Lock()
			return ctx.Err()
		case <-ch:
		}
		p.mu.Lock()
	}
}

// unavailableLocked returns why no call can be served now, or nil if
// waiting is worthwhile. Only a ready handshake-era child makes waiting
// worthwhile for a call that cannot run on a stateless one; with
// stateless, for a call that can, a ready stateless child does too.
func (p *Pool) unavailableLocked(stateless bool) error {
	if p.phase == phaseClosed {
		return errClosed
	}
	if p.startErr == nil {
		return nil
	}
	for _, sl := range p.slots {
		if sl.state == stateReady && (stateless || !sl.stateless) {
			return nil
		}
	}
	return &unavailableError{cause: p.startErr}
}

// InitializeResult returns the initialize result of the most recently
// started child, waiting (bounded by ctx) for one to be ready.
func (p *Pool) InitializeResult(ctx context.Context) (json.RawMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.await(ctx, func() (bool, error) {
		if p.initResult != nil {
			return true, nil
		}
		return false, p.unavailableLocked(false)
	})
	if err != nil {
		return nil, fmt.Errorf("pool: waiting for an initialized child: %w", err)
	}
	return p.initResult, nil
}

// utilization is the share of the ready children's capacity in use: calls
// in flight over ready children times MaxInflightPerSession; 1 when no
// child is ready while calls wait, 0 when none wait.
func (p *Pool) utilization() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	ready, inflight := 0, 0
	for _, sl := range p.slots {
		if sl.state == stateReady && !sl.retiring {
			ready++
			inflight += sl.inflight
		}
	}
	if ready == 0 {
		if p.waiting > 0 {
			return 1
		}
		return 0
	}
	return min(1, float64(inflight)/float64(ready*p.cfg.MaxInflightPerSession))
}

// Capacity is how many calls the pool can run at once now: ready children
// times MaxInflightPerSession. A queue in front of the pool can use it as
// its dispatch concurrency.
func (p *Pool) Capacity() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, sl := range p.slots {
		if sl.state == stateReady && !sl.retiring {
			n++
		}
	}
	return n * p.cfg.MaxInflightPerSession // stateless children included: their calls pass the same queue
}
