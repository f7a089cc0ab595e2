package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// endReason is why a ready child stopped serving.
type endReason int

const (
	endShutdown  endReason = iota // Run's ctx ended
	endRetire                     // scaled down
	endLost                       // crashed or closed its output
	endUnhealthy                  // failed a health check
)

// runSlot keeps a child running in sl until ctx ends or sl is retired,
// restarting it with backoff after failures.
func (p *Pool) runSlot(ctx context.Context, sl *slot) {
	defer p.removeSlot(sl)
	bo := backoff{min: p.cfg.RestartBackoffMin, max: p.cfg.RestartBackoffMax}
	for first := true; ; first = false {
		if !first {
			p.countRestart()
		}
		sess, err := p.startChild(ctx, sl)
		if err != nil {
			if ctx.Err() != nil || p.retired(sl) {
				return
			}
			if sl.stateless { // started on demand: the next call asks again
				p.statelessFailed(sl, err)
				return
			}
			p.startFailed(sl, err)
			if !p.pause(ctx, sl, bo.next()) {
				return
			}
			continue
		}
		upSince := time.Now()
		why := p.serve(ctx, sl, sess)
		p.stopChild(sl, sess, why)
		if why == endShutdown || why == endRetire {
			return
		}
		if time.Since(upSince) >= p.cfg.RestartBackoffMax {
			bo.reset() // it was healthy for a good while: restart promptly
		}
		if !p.pause(ctx, sl, bo.next()) {
			return
		}
	}
}

// startChild spawns and initializes a child for sl; on success sl is ready.
func (p *Pool) startChild(ctx context.Context, sl *slot) (*mcpconn.Session, error) {
	p.setState(sl, stateStarting, 0)
	timeout := p.cfg.StartTimeout
	if sl.stateless {
		timeout = min(timeout, statelessStartTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := fmt.Sprintf("child-%d", sl.id)
	var h *mcpconn.Handlers
	if p.cfg.Handlers != nil {
		h = p.cfg.Handlers(name)
	}
	version := ""
	if sl.stateless {
		version = mcpconn.StatelessProtocolVersion
	}
	sess, err := mcpconn.Start(ctx, mcpconn.Config{
		ProtocolVersion:    version,
		Command:            p.cfg.Command,
		Env:                p.cfg.Env,
		Dir:                p.cfg.Dir,
		Name:               name,
		ClientVersion:      p.cfg.ClientVersion,
		ClientCapabilities: p.cfg.ClientCapabilities,
		StopTimeout:        p.cfg.StopTimeout,
		Handlers:           h,
		Logger:             p.cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	if err := p.setLogLevel(ctx, sess); err != nil {
		sess.Close()
		return nil, err
	}
	if err := p.resubscribe(ctx, sl, sess); err != nil {
		sess.Close()
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sl.state, sl.sess, sl.lastUsed, sl.backoff, sl.lastErr = stateReady, sess, time.Now(), 0, nil
	if sl.stateless {
		p.stateless.failures = 0
	} else { // a discover result is no initialize result
		p.startErr = nil
		p.initResult = sess.InitializeResult()
	}
	p.updateLocked()
	return sess, nil
}

// setLogLevel asks a child that can log for LogLevel and above. The
// stateless protocol has no such request: its clients say the level in
// each request's _meta.
func (p *Pool) setLogLevel(ctx context.Context, sess *mcpconn.Session) error {
	if p.cfg.LogLevel == "" || sess.Stateless() || !hasCapability(sess.Capabilities(), "logging") {
		return nil
	}
	params, _ := json.Marshal(map[string]string{"level": p.cfg.LogLevel})
	if _, err := sess.Call(ctx, "logging/setLevel", params); err != nil {
		return fmt.Errorf("setting the log level of %s: %w", sess.Name(), err)
	}
	return nil
}

// hasCapability reports whether a capabilities object has key.
func hasCapability(caps json.RawMessage, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(caps, &m) != nil {
		return false
	}
	v, ok := m[key]
	return ok && string(v) != "null"
}

// startFailed records a failed start.
func (p *Pool) startFailed(sl *slot, err error) {
	p.m.startFailures.Inc()
	p.log.Error().Err(err).Int("slot", sl.id).Msg("child failed to start")
	p.mu.Lock()
	defer p.mu.Unlock()
	sl.lastErr = err
	p.startErr = err
	p.updateLocked()
}

// serve health-checks sess until it must stop, and says why.
func (p *Pool) serve(ctx context.Context, sl *slot, sess *mcpconn.Session) endReason {
	var tick <-chan time.Time
	missed := 0 // health checks missed in a row
	if p.cfg.HealthCheckInterval > 0 {
		t := time.NewTicker(p.cfg.HealthCheckInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return endShutdown
		case <-sl.retire:
			return endRetire
		case <-sess.Done():
			p.log.Warn().Err(sess.Err()).Str("child", sess.Name()).Int("pid", sess.Pid()).Msg("child lost")
			return endLost
		case <-tick:
			if err := p.healthCheck(sess); err != nil {
				missed++
				p.log.Warn().Err(err).Str("child", sess.Name()).Int("pid", sess.Pid()).
					Int("missed", missed).Int("allowed", p.cfg.HealthCheckFailures).Msg("child missed a health check")
				if missed >= p.cfg.HealthCheckFailures {
					p.log.Warn().Str("child", sess.Name()).Int("pid", sess.Pid()).Msg("child failed its health check")
					return endUnhealthy
				}
				continue
			}
			missed = 0
		}
	}
}

// healthCheck pings sess within HealthCheckTimeout.
func (p *Pool) healthCheck(sess *mcpconn.Session) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.HealthCheckTimeout)
	defer cancel()
	return sess.Ping(ctx)
}

// stopChild takes sess out of service and stops it. On shutdown and scale
// down, calls in flight first get up to DrainTimeout to finish.
func (p *Pool) stopChild(sl *slot, sess *mcpconn.Session, why endReason) {
	switch why {
	case endShutdown, endRetire:
		p.setState(sl, stateDraining, 0)
		p.drain(sl, sess)
		p.setState(sl, stateStopping, 0)
	case endUnhealthy:
		p.setState(sl, stateUnhealthy, 0)
	default:
		p.setState(sl, stateStopping, 0)
	}
	if err := sess.Close(); err != nil {
		p.log.Error().Err(err).Str("child", sess.Name()).Msg("stopping child")
	}
	p.mu.Lock()
	sl.sess = nil
	p.updateLocked()
	p.mu.Unlock()
}

// drain waits until sl has no call in flight, sess is lost, or
// DrainTimeout passes.
func (p *Pool) drain(sl *slot, sess *mcpconn.Session) {
	t := time.NewTimer(p.cfg.DrainTimeout)
	defer t.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for sl.inflight > 0 {
		ch := p.changedLocked()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-sess.Done():
		case <-t.C:
			p.mu.Lock()
			p.log.Warn().Str("child", sess.Name()).Int("inflight", sl.inflight).Msg("drain timeout: stopping child with calls in flight")
			return
		}
		p.mu.Lock()
		if sess.Err() != nil {
			return
		}
	}
}

// pause waits d in backoff; false if the slot must stop instead.
func (p *Pool) pause(ctx context.Context, sl *slot, d time.Duration) bool {
	p.setState(sl, stateBackoff, d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-sl.retire:
		return false
	}
}

func (p *Pool) setState(sl *slot, state string, backoff time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sl.state, sl.backoff = state, backoff
	p.updateLocked()
}

func (p *Pool) retired(sl *slot) bool {
	select {
	case <-sl.retire:
		return true
	default:
		return false
	}
}

func (p *Pool) countRestart() {
	p.m.restarts.Inc()
	p.mu.Lock()
	p.restarts++
	p.mu.Unlock()
}

func (p *Pool) removeSlot(sl *slot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.slots, sl.id)
	p.updateLocked()
}
