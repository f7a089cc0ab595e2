package pool

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// slotStates are the values of the state label, and of Stats.ByStatus keys.
var slotStates = [...]string{stateStarting, stateIdle, stateBusy, stateDraining, stateUnhealthy, stateStopping, stateBackoff}

// stateIndex returns the index of state in slotStates, or -1.
func stateIndex(state string) int {
	for i, s := range slotStates {
		if s == state {
			return i
		}
	}
	return -1
}

// metrics are the pool's Prometheus collectors.
type metrics struct {
	sessions      *prometheus.GaugeVec
	states        [len(slotStates)]prometheus.Gauge // sessions' children, by slotStates index
	restarts      prometheus.Counter
	startFailures prometheus.Counter
	callDuration  prometheus.Histogram
	waiting       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mcp_bridge_pool_sessions",
			Help: "MCP child sessions by state.",
		}, []string{"state"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_bridge_pool_restarts_total",
			Help: "Children started again after a crash, a failed health check or a failed start.",
		}),
		startFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_bridge_pool_start_failures_total",
			Help: "Attempts to start a child that failed to spawn or to initialize.",
		}),
		callDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mcp_bridge_pool_call_duration_seconds",
			Help:    "Duration of calls answered by a child (result or error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcp_bridge_pool_waiting_calls",
			Help: "Calls waiting for a free child.",
		}),
	}
	for i, st := range slotStates {
		m.states[i] = m.sessions.WithLabelValues(st)
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.sessions, m.restarts, m.startFailures, m.callDuration, m.waiting} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
