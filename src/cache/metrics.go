package cache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Fill outcomes, the result label of mcp_bridge_cache_fills_total.
const (
	fillStored      = "stored"      // the answer was cached
	fillDiscarded   = "discarded"   // something it depends on changed while it ran, or caching is paused
	fillUncacheable = "uncacheable" // a tool error, no-store, or too large
	fillError       = "error"       // the fill failed
)

// metrics are the cache's Prometheus collectors; labels are bounded (level,
// reason, cause, result). Hot paths use the pre-resolved children.
type metrics struct {
	hits, misses  map[Level]prometheus.Counter
	evictions     map[string]prometheus.Counter
	invalidations map[string]prometheus.Counter
	fills         map[string]prometheus.Counter
	entries       prometheus.Gauge
	bytes         prometheus.Gauge
	lagging       prometheus.Counter
	stale         prometheus.Counter
	l2Up          prometheus.Gauge
	l2Errors      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_cache_hits_total", Help: "Reads answered from the cache, by level (l1, l2).",
	}, []string{"level"})
	misses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_cache_misses_total", Help: "Cacheable reads a level could not answer, by level (l1, l2).",
	}, []string{"level"})
	evictions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_cache_evictions_total", Help: "L1 entries evicted, by reason (size, bytes, expired).",
	}, []string{"reason"})
	invalidations := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_cache_invalidations_total", Help: "L1 entries dropped because what they depend on changed, by cause.",
	}, []string{"cause"})
	fills := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_bridge_cache_fills_total", Help: "Fills of cacheable reads, by result (stored, discarded, uncacheable, error).",
	}, []string{"result"})
	m := &metrics{
		hits: map[Level]prometheus.Counter{}, misses: map[Level]prometheus.Counter{},
		evictions: map[string]prometheus.Counter{}, invalidations: map[string]prometheus.Counter{}, fills: map[string]prometheus.Counter{},
		entries:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "mcp_bridge_cache_entries", Help: "Entries in L1."}),
		bytes:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "mcp_bridge_cache_bytes", Help: "Approximate size of the L1 entries."}),
		lagging:  prometheus.NewCounter(prometheus.CounterOpts{Name: "mcp_bridge_cache_lagging_answers_total", Help: "Filled answers refused because the child's view was older than a known event."}),
		stale:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mcp_bridge_cache_stale_answers_total", Help: "Stale or empty answers given by Fallback."}),
		l2Up:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "mcp_bridge_cache_l2_up", Help: "1 when the Redis L2 answers, 0 when it does not or is not configured."}),
		l2Errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mcp_bridge_cache_l2_errors_total", Help: "Redis operations that failed."}),
	}
	for _, l := range []Level{LevelL1, LevelL2} {
		m.hits[l], m.misses[l] = hits.WithLabelValues(l.String()), misses.WithLabelValues(l.String())
	}
	for _, r := range []string{evictSize, evictBytes, evictExpired} {
		m.evictions[r] = evictions.WithLabelValues(r)
	}
	for _, c := range []string{CauseStateChanged, CauseWrite, CauseTools, CauseServices, CauseRegistry, CauseDisconnect, CauseResync, CauseRemote, CauseFlush} {
		m.invalidations[c] = invalidations.WithLabelValues(c)
	}
	for _, r := range []string{fillStored, fillDiscarded, fillUncacheable, fillError} {
		m.fills[r] = fills.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, col := range []prometheus.Collector{hits, misses, evictions, invalidations, fills, m.entries, m.bytes, m.lagging, m.stale, m.l2Up, m.l2Errors} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("cache: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) setSize(n, bytes int) {
	m.entries.Set(float64(n))
	m.bytes.Set(float64(bytes))
}
