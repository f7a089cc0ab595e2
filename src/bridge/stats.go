package bridge

import (
	"sync"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Stats is a snapshot of the bridge for the status endpoint.
type Stats struct {
	Started     time.Time
	Breaker     string // "closed", "open", "half-open" or "disabled"
	Queue       queue.Stats
	Sessions    SessionStats
	Performance Performance
	Cache       *cache.Stats // nil without a cache
}

// Performance covers the calls that ended within Config.StatsWindow.
type Performance struct {
	AvgResponseTime   time.Duration
	RequestsPerSecond float64
	ErrorRate         float64 // share of calls that failed because of the bridge or its children
	Window            time.Duration
}

// Stats returns a snapshot of the queue, the sessions and the recent
// performance.
func (b *Bridge) Stats() Stats {
	s := Stats{
		Started:     b.started,
		Breaker:     b.breaker.state(),
		Queue:       b.queue.Stats(),
		Performance: b.perf.snapshot(time.Now(), b.started),
	}
	if b.cfg.Cache != nil {
		cs := b.cfg.Cache.Stats()
		s.Cache = &cs
	}
	if b.cfg.Sessions != nil {
		s.Sessions = b.cfg.Sessions()
	}
	return s
}

// record counts a finished call in the metrics and the performance window,
// and returns its outcome label.
func (b *Bridge) record(kind Kind, res Result, err error, d time.Duration) string {
	outcome := outcomeOf(res, err)
	b.metrics.requests.WithLabelValues(kind.String(), outcome).Inc()
	b.metrics.duration.WithLabelValues(kind.String()).Observe(d.Seconds())
	if typ := errorType(outcome, err); typ != "" {
		b.metrics.errors[typ].Inc()
	}
	if outcome != outcomeCancelled {
		b.perf.add(time.Now(), d, isServiceError(outcome))
	}
	return outcome
}

// perfWindow keeps per-second buckets of calls over a sliding window. It is
// safe for concurrent use.
type perfWindow struct {
	mu      sync.Mutex // guards buckets
	buckets []perfBucket
}

type perfBucket struct {
	sec    int64 // unix second the bucket holds; stale when outside the window
	count  int64
	errors int64
	total  time.Duration
}

func newPerfWindow(window time.Duration) *perfWindow {
	n := max(int(window/time.Second), 1)
	return &perfWindow{buckets: make([]perfBucket, n)}
}

func (w *perfWindow) add(now time.Time, d time.Duration, failed bool) {
	sec := now.Unix()
	w.mu.Lock()
	defer w.mu.Unlock()
	bk := &w.buckets[int(sec%int64(len(w.buckets)))]
	if bk.sec != sec {
		*bk = perfBucket{sec: sec}
	}
	bk.count++
	bk.total += d
	if failed {
		bk.errors++
	}
}

// snapshot sums the buckets still inside the window. The rate divides by
// the window, or by the time since started when that is shorter.
func (w *perfWindow) snapshot(now, started time.Time) Performance {
	sec := now.Unix()
	n := int64(len(w.buckets))
	var count, errs int64
	var total time.Duration
	w.mu.Lock()
	for _, bk := range w.buckets {
		if bk.sec > sec-n && bk.sec <= sec {
			count += bk.count
			errs += bk.errors
			total += bk.total
		}
	}
	w.mu.Unlock()
	window := time.Duration(n) * time.Second
	p := Performance{Window: window}
	span := max(min(window, now.Sub(started)), time.Second)
	if count == 0 {
		return p
	}
	p.AvgResponseTime = total / time.Duration(count)
	p.ErrorRate = float64(errs) / float64(count)
	if span > 0 {
		p.RequestsPerSecond = float64(count) / span.Seconds()
	}
	return p
}
