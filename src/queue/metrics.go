package queue

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the mcp_bridge_queue_* collectors of one Queue.
type metrics struct {
	wait         prometheus.Histogram
	rejected     *prometheus.CounterVec
	deduplicated prometheus.Counter
	replayed     prometheus.Counter
}

// newMetrics creates q's collectors and registers them on reg if it is not
// nil.
func newMetrics(reg prometheus.Registerer, q *Queue) (*metrics, error) {
	m := &metrics{
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mcp_bridge_queue_wait_seconds",
			Help:    "Time jobs waited in the queue before starting.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_bridge_queue_rejected_total",
			Help: "Jobs refused by the queue, by reason (full, closed, invalid).",
		}, []string{"reason"}),
		deduplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_bridge_queue_deduplicated_total",
			Help: "Callers that joined an identical in-flight job instead of executing.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_bridge_queue_replayed_total",
			Help: "Callers given the outcome of an earlier job with the same idempotency key.",
		}),
	}
	for _, reason := range []string{"full", "closed", "invalid"} {
		m.rejected.WithLabelValues(reason)
	}
	if reg == nil {
		return m, nil
	}
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcp_bridge_queue_pending",
		Help: "Jobs waiting to start.",
	}, func() float64 { p, _ := q.pendingRunning(); return float64(p) })
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcp_bridge_queue_running",
		Help: "Jobs running.",
	}, func() float64 { _, r := q.pendingRunning(); return float64(r) })
	maxSeen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcp_bridge_queue_pending_max",
		Help: "Most jobs ever waiting to start at once since the bridge started.",
	}, func() float64 { q.mu.Lock(); defer q.mu.Unlock(); return float64(q.maxSeen) })
	for _, c := range []prometheus.Collector{pending, running, maxSeen, m.wait, m.rejected, m.deduplicated, m.replayed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("queue: registering metrics: %w", err)
		}
	}
	return m, nil
}
