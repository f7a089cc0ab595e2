package bridge

import (
	"sync"
	"sync/atomic"
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
// safe for concurrent use. Every call adds to it, cache hits included, so
// adding takes no lock (a lock here convoys concurrent hits); only moving a
// bucket to a new second does. A call that straddles the move may land in
// the new second: the figures are a rate, not an audit.
type perfWindow struct {
	mu      sync.Mutex // serialises moving a bucket to a new second
	buckets []perfBucket
}

type perfBucket struct {
	sec    atomic.Int64 // unix second the bucket holds; stale when outside the window
	count  atomic.Int64
	errors atomic.Int64
	total  atomic.Int64 // time.Duration
}

func newPerfWindow(window time.Duration) *perfWindow {
	n := max(int(window/time.Second), 1)
	return &perfWindow{buckets: make([]perfBucket, n)}
}

func (w *perfWindow) add(now time.Time, d time.Duration, failed bool) {
	sec := now.Unix()
	bk := &w.buckets[int(sec%int64(len(w.buckets)))]
	if bk.sec.Load() != sec {
		w.mu.Lock()
		if bk.sec.Load() != sec {
			bk.count.Store(0)
			bk.errors.Store(0)
			bk.total.Store(0)
			bk.sec.Store(sec)
		}
		w.mu.Unlock()
	}
	bk.count.Add(1)
	bk.total.Add(int64(d))
	if failed {
		bk.errors.Add(1)
	}
}

// snapshot sums the buckets still inside the window. The rate divides by
// the window, or by the time since started when that is shorter.
func (w *perfWindow) snapshot(now, started time.Time) Performance {
	sec := now.Unix()
	n := int64(len(w.buckets))
	var count, errs int64
	var total time.Duration
	for i := range w.buckets {
		bk := &w.buckets[i]
		if s := bk.sec.Load(); s > sec-n && s <= sec {
			count += bk.count.Load()
			errs += bk.errors.Load()
			total += time.Duration(bk.total.Load())
		}
	}
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
