package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"
)

// HealthChecker reports whether Home Assistant answers. *hass.Client
// satisfies it with a WebSocket ping; the interface lives here so that this
// package does not depend on the client.
type HealthChecker interface {
	// Ping returns the round-trip time, or an error when Home Assistant
	// cannot be reached before ctx ends.
	Ping(ctx context.Context) (time.Duration, error)
}

// SessionChecker is optionally implemented by a HealthChecker whose bridge
// runs MCP sessions (stdio children). The health endpoint then also reports
// "mcp_sessions" with the number of sessions able to take a call, and is
// unhealthy while there are none: the bridge cannot serve a tool call then,
// even with Home Assistant up.
type SessionChecker interface {
	// HealthySessions returns how many sessions can take a call. It may wait
	// (bounded by ctx) for the first one; it returns an error saying why
	// when none can.
	HealthySessions(ctx context.Context) (int, error)
}

// RefusalChecker is optionally implemented by a HealthChecker whose bridge
// can refuse every call on its own, with Home Assistant and the sessions up:
// an open circuit breaker. The health endpoint then reports
// "circuit_breaker", and is unhealthy while calls are refused, since a
// probe that says healthy while every call gets 503 misleads its reader.
type RefusalChecker interface {
	// CallsRefused returns why calls are refused right now, or nil. It must
	// not block.
	CallsRefused() error
}

// Health is the body of the health endpoint.
type Health struct {
	Status       string                      `json:"status"` // "healthy" or "unhealthy"
	Timestamp    time.Time                   `json:"timestamp"`
	Dependencies map[string]DependencyHealth `json:"dependencies"`
}

// DependencyHealth is the health of one dependency of the bridge.
type DependencyHealth struct {
	Status         string `json:"status"` // "ok" or "unavailable"
	ResponseTimeMS int64  `json:"response_time_ms"`
	Error          string `json:"error,omitempty"`
	// HealthyCount is set for mcp_sessions: the sessions able to take a call.
	HealthyCount *int `json:"healthy_count,omitempty"`
}

// Healthy reports whether every dependency is ok.
func (h Health) Healthy() bool { return h.Status == "healthy" }

// healthProbe checks the dependencies, coalescing concurrent checks into one
// so that a burst of health requests costs a single ping.
type healthProbe struct {
	checker HealthChecker
	timeout time.Duration
	now     func() time.Time
	group   singleflight.Group
}

// check returns the current health. It does not use the request's context for
// the shared checks (one caller giving up must not fail the others), but waits
// for them at most as long as the request lives.
func (p *healthProbe) check(ctx context.Context) Health {
	ch := p.group.DoChan("health", func() (any, error) {
		return p.checkDependencies(), nil
	})
	var deps map[string]DependencyHealth
	select {
	case r := <-ch:
		deps = r.Val.(map[string]DependencyHealth)
	case <-ctx.Done():
		deps = map[string]DependencyHealth{"home_assistant": {
			Status: "unavailable", Error: "health check abandoned: " + ctx.Err().Error(),
		}}
	}
	h := Health{
		Status:       "healthy",
		Timestamp:    p.now().UTC().Truncate(time.Second),
		Dependencies: deps,
	}
	for _, d := range deps {
		if d.Status != "ok" {
			h.Status = "unhealthy"
		}
	}
	return h
}

// checkDependencies checks Home Assistant and, if the checker reports them,
// the MCP sessions, at the same time.
func (p *healthProbe) checkDependencies() map[string]DependencyHealth {
	deps := map[string]DependencyHealth{}
	if rc, ok := p.checker.(RefusalChecker); ok {
		deps["circuit_breaker"] = DependencyHealth{Status: "ok"}
		if err := rc.CallsRefused(); err != nil {
			deps["circuit_breaker"] = DependencyHealth{Status: "unavailable", Error: err.Error()}
		}
	}
	sc, ok := p.checker.(SessionChecker)
	if !ok {
		deps["home_assistant"] = p.pingHomeAssistant()
		return deps
	}
	done := make(chan DependencyHealth, 1)
	go func() { done <- p.checkSessions(sc) }()
	deps["home_assistant"] = p.pingHomeAssistant()
	deps["mcp_sessions"] = <-done
	return deps
}

func (p *healthProbe) checkSessions(sc SessionChecker) DependencyHealth {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	start := p.now()
	n, err := sc.HealthySessions(ctx)
	d := DependencyHealth{Status: "ok", ResponseTimeMS: p.now().Sub(start).Milliseconds(), HealthyCount: &n}
	if err != nil || n == 0 {
		d.Status = "unavailable"
		if err != nil {
			d.Error = err.Error()
		}
	}
	return d
}

func (p *healthProbe) pingHomeAssistant() DependencyHealth {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	start := p.now()
	rtt, err := p.checker.Ping(ctx)
	if err != nil {
		return DependencyHealth{
			Status:         "unavailable",
			ResponseTimeMS: p.now().Sub(start).Milliseconds(),
			Error:          err.Error(),
		}
	}
	return DependencyHealth{Status: "ok", ResponseTimeMS: rtt.Milliseconds()}
}

// handleHealth answers 200 with the health when healthy and 503 otherwise, so
// that probes that only look at the status code (Docker's HEALTHCHECK, the
// healthcheck subcommand) need not parse the body.
func (p *healthProbe) handleHealth(c *gin.Context) {
	h := p.check(c.Request.Context())
	status := http.StatusOK
	if !h.Healthy() {
		status = http.StatusServiceUnavailable
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, h)
}
