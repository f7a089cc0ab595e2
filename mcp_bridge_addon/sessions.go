package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
)

// sessionStats adapts the pool's statistics to what the bridge shows on
// /mcp/status.
func sessionStats(p *pool.Pool) func() bridge.SessionStats {
	return func() bridge.SessionStats {
		s := p.Stats()
		return bridge.SessionStats{Active: s.Idle + s.Busy, Total: s.Total, ByStatus: s.ByStatus}
	}
}

// sessionPoll is how often the health check looks at the pool while no
// child is ready yet.
const sessionPoll = 20 * time.Millisecond

// bridgeHealth is the health check of serve: Home Assistant through the
// bridge's own client (connectedPinger), and the pool's children, which
// httpapi reports as "mcp_sessions".
type bridgeHealth struct {
	connectedPinger
	pool   *pool.Pool
	bridge *bridge.Bridge
}

// CallsRefused reports an open circuit breaker, so that /health is
// unhealthy while every call is refused.
func (h bridgeHealth) CallsRefused() error { return h.bridge.CallsRefused() }

// HealthySessions returns how many children can take a call. Like the Home
// Assistant check it waits, within the health check's deadline, for a
// child that is starting, so that a /health right after start tells
// whether the children come up rather than whether they already have. It
// gives up at once when the pool reports that children cannot start.
func (h bridgeHealth) HealthySessions(ctx context.Context) (int, error) {
	t := time.NewTicker(sessionPoll)
	defer t.Stop()
	for {
		s := h.pool.Stats()
		if n := s.Idle + s.Busy; n > 0 {
			return n, nil
		}
		if s.Failing {
			return 0, fmt.Errorf("MCP server children cannot start: %s", s.LastError)
		}
		select {
		case <-ctx.Done():
			return 0, noSessionError(s)
		case <-t.C:
		}
	}
}

// noSessionError says why no child was ready when the check gave up.
func noSessionError(s pool.Stats) error {
	msg := fmt.Sprintf("no MCP session ready (%d starting, %d in total)", s.Starting, s.Total)
	if s.LastError != "" {
		msg += "; last failure: " + s.LastError
	}
	return errors.New(msg)
}
