package bridge

import (
	"context"
	"errors"
	"fmt"

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

// metrics are the bridge's Prometheus collectors. Labels are bounded: the
// tool kind (auto, read, write) and the outcomes above.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	breaker  prometheus.Gauge
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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.retries, m.breaker} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("bridge: registering metrics: %w", err)
		}
	}
	return m, nil
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

// isServiceError reports whether an outcome counts in the error rate: the
// bridge or its children failed, as opposed to the caller or the tool.
func isServiceError(outcome string) bool {
	switch outcome {
	case outcomeRejected, outcomeTimeout, outcomeUnknown, outcomeFailed:
		return true
	}
	return false
}
