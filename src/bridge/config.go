package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Defaults used by New for zero Config fields.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxTimeout       = 5 * time.Minute
	DefaultMaxAttempts      = 3
	DefaultRetryBackoff     = 100 * time.Millisecond
	DefaultBackoffFactor    = 2.0
	DefaultToolsTTL         = time.Hour
	DefaultToolsRefreshMin  = 5 * time.Second
	DefaultToolsTimeout     = 10 * time.Second
	DefaultCapacityInterval = 250 * time.Millisecond
	DefaultStatsWindow      = time.Minute
	DefaultFailureThreshold = 5
	DefaultRecoveryTimeout  = 30 * time.Second
)

// Kind says whether a tool changes anything. It decides retries, locks and
// deduplication.
type Kind int

const (
	// KindAuto takes the kind from the tool's readOnlyHint annotation: a
	// tool is a read only if its server says so (the MCP default is write).
	KindAuto Kind = iota
	KindRead
	KindWrite
)

// String returns "auto", "read" or "write"; it is also the tool_kind label.
func (k Kind) String() string {
	switch k {
	case KindRead:
		return "read"
	case KindWrite:
		return "write"
	default:
		return "auto"
	}
}

// ToolPolicy overrides what the bridge derives for one tool. Zero fields
// keep the derived value.
type ToolPolicy struct {
	// Kind overrides the tool's readOnlyHint. Annotations are hints from the
	// child and may be wrong; an operator can correct them here.
	Kind Kind
	// Priority is the tool's default queue priority. If nil, reads are
	// High and writes Medium.
	Priority *queue.Priority
	// Timeout bounds a call (queue wait plus execution) unless the caller
	// asks for another. If zero, Config.DefaultTimeout.
	Timeout time.Duration
}

// DefaultToolPolicies returns the seed design's priorities and timeouts for
// the Home Assistant tools it names. Config.Tools entries replace these
// entries whole.
func DefaultToolPolicies() map[string]ToolPolicy {
	prio := func(p queue.Priority) *queue.Priority { return &p }
	return map[string]ToolPolicy{
		"get_entity_state":  {Priority: prio(queue.Critical)},
		"get_entities":      {Priority: prio(queue.High), Timeout: 10 * time.Second},
		"call_service":      {Priority: prio(queue.Medium), Timeout: 30 * time.Second},
		"create_automation": {Priority: prio(queue.Low), Timeout: 60 * time.Second},
		"get_history":       {Priority: prio(queue.Bulk)},
	}
}

// BreakerConfig configures the circuit breaker in front of the children.
type BreakerConfig struct {
	// Disabled turns the breaker off (circuit_breaker.enabled: false).
	Disabled bool
	// FailureThreshold is how many consecutive failed attempts (not sent,
	// session lost, timed out) open the breaker. If zero, 5.
	FailureThreshold int
	// RecoveryTimeout is how long the breaker stays open before letting a
	// probe through (half-open). If zero, 30s.
	RecoveryTimeout time.Duration
	// HalfOpenRequests is how many probes may run while half-open; that
	// many successes close the breaker. If zero, 1.
	HalfOpenRequests int
}

// SessionStats is what the status endpoint shows about the child sessions.
type SessionStats struct {
	Active   int            // sessions able to take a call
	Total    int            // every session, whatever its state
	ByStatus map[string]int // e.g. "idle", "busy", "starting", "unhealthy"
}

// Fallback may answer a read that failed because no child could serve it
// (breaker open, retries exhausted). The cache adds stale answers here; ok
// false means it has none, and the caller gets the original error. raw is a
// CallToolResult.
type Fallback func(ctx context.Context, req Request, cause error) (raw json.RawMessage, ok bool)

// Config configures a Bridge. Executor is required; every other field has a
// documented default.
type Config struct {
	// Executor runs JSON-RPC requests on a child session (*pool.Pool).
	Executor Executor

	// Queue configures the queue the bridge owns and runs.
	Queue queue.Config

	// Capacity, if set, reports how many calls the children can run at once
	// (pool.Capacity); the queue's concurrency follows it, at least 1.
	Capacity func() int
	// CapacityInterval is how often Capacity is polled. If zero, 250ms.
	CapacityInterval time.Duration

	// Sessions, if set, reports the children for Stats.
	Sessions func() SessionStats

	// Tools holds per-tool policies. If nil, DefaultToolPolicies().
	Tools map[string]ToolPolicy

	// DefaultTimeout bounds calls to tools without a policy timeout. If
	// zero, 30s (queue.timeout_seconds).
	DefaultTimeout time.Duration
	// MaxTimeout caps the timeout a caller may ask for. If zero, 5m.
	MaxTimeout time.Duration
	// AttemptTimeout, if set, bounds one attempt; a read whose attempt
	// times out is retried while its call's timeout lasts. If zero, an
	// attempt may use the whole remaining timeout.
	AttemptTimeout time.Duration

	// MaxAttempts is how many times a retryable call is tried, the first
	// included (queue.max_retries). If zero, 3; 1 disables retries.
	MaxAttempts int
	// RetryBackoff is the wait before the second attempt; each later wait
	// is BackoffFactor times longer. If zero, 100ms and 2.
	RetryBackoff  time.Duration
	BackoffFactor float64

	// DisableDedup stops identical concurrent reads from sharing one
	// execution (queue.deduplication_enabled: false).
	DisableDedup bool
	// DisablePriorities queues every call at Medium, first come first
	// served (queue.priority_enabled: false).
	DisablePriorities bool

	// ToolsTTL is how long a tools/list answer is reused. If zero, 1h.
	ToolsTTL time.Duration
	// ToolsRefreshMin is the least time between two refreshes caused by an
	// unknown tool name, so bad names cannot flood the children. If zero, 5s.
	ToolsRefreshMin time.Duration
	// ToolsTimeout bounds one tools/list refresh. If zero, 10s.
	ToolsTimeout time.Duration

	// StopGrace is how long calls running when Run's ctx ends may take to
	// finish; then their callers are answered (a started write: outcome
	// unknown) and the calls cancelled. If zero, 5s.
	StopGrace time.Duration

	// Breaker configures the circuit breaker.
	Breaker BreakerConfig

	// Fallback, if set, may answer failed reads (see Fallback).
	Fallback Fallback

	// Cache, if set, answers reads whose tool has a caching policy, and
	// learns of every write so that a read after it sees its effect. Its
	// Run is the caller's to run.
	Cache *cache.Cache
	// CacheProfile names the exposure settings that shape the children's
	// answers: cached answers are kept per profile.
	CacheProfile string

	// StatsWindow is the span the performance figures cover. If zero, 1m.
	StatsWindow time.Duration

	// OnCall, if set, is called once for every call Call has finished, on
	// the caller's goroutine with the caller's ctx, before Call returns:
	// the Ingress dashboard's recent calls and the audit log of writes
	// are fed here, where REST and MCP over HTTP calls meet. It must not
	// block, and must not keep or modify Finished.Result.Raw.
	OnCall func(ctx context.Context, f Finished)

	// Logger receives call failures and retries. Zero value: no logs.
	Logger zerolog.Logger
	// Registerer receives the bridge's metrics. If nil, none are exported.
	Registerer prometheus.Registerer
}

// ErrNoExecutor is returned by Validate when Config.Executor is nil.
var ErrNoExecutor = errors.New("bridge: Config.Executor is required")

// Validate reports whether c can be used. Zero fields are valid (they take
// their defaults); negative durations and counts are not.
func (c Config) Validate() error {
	var errs []error
	if c.Executor == nil {
		errs = append(errs, ErrNoExecutor)
	}
	durations := map[string]time.Duration{
		"CapacityInterval": c.CapacityInterval, "DefaultTimeout": c.DefaultTimeout,
		"MaxTimeout": c.MaxTimeout, "AttemptTimeout": c.AttemptTimeout,
		"RetryBackoff": c.RetryBackoff, "ToolsTTL": c.ToolsTTL,
		"ToolsRefreshMin": c.ToolsRefreshMin, "ToolsTimeout": c.ToolsTimeout,
		"StatsWindow": c.StatsWindow, "Breaker.RecoveryTimeout": c.Breaker.RecoveryTimeout,
		"StopGrace": c.StopGrace,
	}
	for name, d := range durations {
		if d < 0 {
			errs = append(errs, fmt.Errorf("bridge: %s must not be negative, got %v", name, d))
		}
	}
	if c.MaxAttempts < 0 || c.Breaker.FailureThreshold < 0 || c.Breaker.HalfOpenRequests < 0 {
		errs = append(errs, errors.New("bridge: MaxAttempts and Breaker counts must not be negative"))
	}
	if c.BackoffFactor != 0 && c.BackoffFactor < 1 {
		errs = append(errs, fmt.Errorf("bridge: BackoffFactor must be at least 1, got %v", c.BackoffFactor))
	}
	if c.MaxTimeout > 0 && c.DefaultTimeout > c.MaxTimeout {
		errs = append(errs, fmt.Errorf("bridge: DefaultTimeout %v exceeds MaxTimeout %v", c.DefaultTimeout, c.MaxTimeout))
	}
	for name, p := range c.Tools {
		if p.Timeout < 0 || p.Kind < KindAuto || p.Kind > KindWrite {
			errs = append(errs, fmt.Errorf("bridge: invalid policy for tool %q", name))
		}
		if p.Priority != nil && (*p.Priority < queue.Critical || *p.Priority > queue.Bulk) {
			errs = append(errs, fmt.Errorf("bridge: invalid priority for tool %q", name))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.CapacityInterval, DefaultCapacityInterval)
	setDur(&c.DefaultTimeout, DefaultTimeout)
	setDur(&c.MaxTimeout, DefaultMaxTimeout)
	setDur(&c.RetryBackoff, DefaultRetryBackoff)
	setDur(&c.ToolsTTL, DefaultToolsTTL)
	setDur(&c.ToolsRefreshMin, DefaultToolsRefreshMin)
	setDur(&c.ToolsTimeout, DefaultToolsTimeout)
	setDur(&c.StatsWindow, DefaultStatsWindow)
	setDur(&c.StopGrace, DefaultStopGrace)
	setDur(&c.Breaker.RecoveryTimeout, DefaultRecoveryTimeout)
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffFactor == 0 {
		c.BackoffFactor = DefaultBackoffFactor
	}
	if c.Breaker.FailureThreshold == 0 {
		c.Breaker.FailureThreshold = DefaultFailureThreshold
	}
	if c.Breaker.HalfOpenRequests == 0 {
		c.Breaker.HalfOpenRequests = 1
	}
	if c.Tools == nil {
		c.Tools = DefaultToolPolicies()
	}
}
