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
// the shared ping (one caller giving up must not fail the others), but waits
// for it at most as long as the request lives.
func (p *healthProbe) check(ctx context.Context) Health {
	ch := p.group.DoChan("health", func() (any, error) {
		return p.pingHomeAssistant(), nil
	})
	var ha DependencyHealth
	select {
	case r := <-ch:
		ha = r.Val.(DependencyHealth)
	case <-ctx.Done():
		ha = DependencyHealth{Status: "unavailable", Error: "health check abandoned: " + ctx.Err().Error()}
	}
	h := Health{
		Status:       "healthy",
		Timestamp:    p.now().UTC().Truncate(time.Second),
		Dependencies: map[string]DependencyHealth{"home_assistant": ha},
	}
	if ha.Status != "ok" {
		h.Status = "unhealthy"
	}
	return h
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
