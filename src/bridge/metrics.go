package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Outcome labels of mcp_bridge_requests_total.
const (
	outcomeOK        = "ok"              // the child answered a result
	outcomeToolError = "tool_error"      // the result has isError: true
	outcomeStale     = "stale"           // the Fallback answered
	outcomeInvalid   = "invalid"         // bad request or unknown tool
	outcomeRejected  = "rejected"        // queue full, breaker open, shutting down
	outcomeTimeout   = "timeout"         // the call's timeout ran out
	outcomeUnknown   = "unknown_outcome" // a write's session died
	outcomeFailed    = "failed"          // no child could serve it, or the child refused it
	outcomeCancelled = "cancelled"       // the caller went away
)

// Labels of mcp_bridge_errors_total: what failed, and how much it matters.
// A warning is the caller's or the tool's (a bad argument, an unknown
// entity); an error is the bridge, its children or Home Assistant failing;
// critical is a write whose outcome is unknown.
const (
	severityWarning  = "warning"
	severityError    = "error"
	severityCritical = "critical"
)

// errorTypes are the type label's values, each with its severity.
var errorTypes = []struct{ typ, severity string }{
	{"invalid_request", severityWarning}, {"unknown_tool", severityWarning}, {"tool_error", severityWarning},
	{"stale_answer", severityWarning}, {"shutting_down", severityWarning},
	{"queue_full", severityError}, {"circuit_open", severityError}, {"timeout", severityError},
	{"session_failed", severityError}, {"outcome_unknown", severityCritical},
}

// metrics are the bridge's Prometheus collectors. Labels are bounded: the
// tool kind (auto, read, write), the outcomes above and errorTypes.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	breaker  prometheus.Gauge
	errors   map[string]prometheus.Counter // by type
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_bridge_requests_total",
			Help: "Tool calls handled by the bridge, by tool kind and outcome.",
		}, []string{"tool_kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_bridge_request_duration_seconds",
			Help:    "Time to answer a tool call, queue wait included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"tool_kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_bridge_retries_total",
			Help: "Tool call attempts retried after a failed attempt.",
		}, []string{"tool_kind"}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcp_bridge_circuit_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
		}),
		errors: map[string]prometheus.Counter{},
	}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_errors_total",
		Help: "Tool calls that failed, by type and severity (warning: the caller's or the tool's; error: the bridge's, its children's or Home Assistant's; critical: a write's outcome is unknown).",
	}, []string{"type", "severity"})
	for _, e := range errorTypes {
		m.errors[e.typ] = errs.WithLabelValues(e.typ, e.severity)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.retries, m.breaker, errs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("bridge: registering metrics: %w", err)
		}
	}
	return m, nil
}

// registerRate exports the request rate /mcp/status shows, as the seed
// lists it; rate(mcp_bridge_requests_total[1m]) is the Prometheus way.
func (b *Bridge) registerRate(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	rps := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcp_bridge_requests_per_second",
		Help: "Tool calls per second over the last Config.StatsWindow (the figure /mcp/status shows).",
	}, func() float64 { return b.perf.snapshot(time.Now(), b.started).RequestsPerSecond })
	if err := reg.Register(rps); err != nil {
		return fmt.Errorf("bridge: registering metrics: %w", err)
	}
	return nil
}

func (m *metrics) retry(k Kind) { m.retries.WithLabelValues(k.String()).Inc() }

func (m *metrics) setBreaker(s gobreaker.State) {
	switch s {
	case gobreaker.StateOpen:
		m.breaker.Set(1)
	case gobreaker.StateHalfOpen:
		m.breaker.Set(2)
	default:
		m.breaker.Set(0)
	}
}

// outcomeOf classifies a finished call for metrics and stats.
func outcomeOf(res Result, err error) string {
	switch {
	case err == nil && res.Meta.Stale:
		return outcomeStale
	case err == nil && res.Meta.IsError:
		return outcomeToolError
	case err == nil:
		return outcomeOK
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrUnknownTool):
		return outcomeInvalid
	case errors.Is(err, queue.ErrFull), errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrClosed):
		return outcomeRejected
	case errors.Is(err, ErrTimeout):
		return outcomeTimeout
	case errors.Is(err, ErrOutcomeUnknown):
		return outcomeUnknown
	case errors.Is(err, context.Canceled):
		return outcomeCancelled
	}
	return outcomeFailed
}

// errorType is the type label of mcp_bridge_errors_total for a call that
// ended with outcome, or "" when the call did not fail.
func errorType(outcome string, err error) string {
	switch outcome {
	case outcomeToolError:
		return "tool_error"
	case outcomeStale:
		return "stale_answer"
	case outcomeInvalid:
		if errors.Is(err, ErrUnknownTool) {
			return "unknown_tool"
		}
		return "invalid_request"
	case outcomeRejected:
		switch {
		case errors.Is(err, queue.ErrFull):
			return "queue_full"
		case errors.Is(err, ErrCircuitOpen):
			return "circuit_open"
		}
		return "shutting_down"
	case outcomeTimeout:
		return "timeout"
	case outcomeUnknown:
		return "outcome_unknown"
	case outcomeFailed:
		return "session_failed"
	}
	return ""
}

// isServiceError reports whether an outcome counts in the error rate: the
// bridge or its children failed, as opposed to the caller or the tool.
func isServiceError(outcome string) bool {
	switch outcome {
	case outcomeRejected, outcomeTimeout, outcomeUnknown, outcomeFailed:
		return true
	}
	return false
}
