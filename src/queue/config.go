package queue

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxSize            = 1000
	DefaultConcurrency        = 1
	DefaultAgingInterval      = 5 * time.Second
	DefaultIdempotencyTTL     = 10 * time.Minute
	DefaultMaxIdempotencyKeys = 10000
	// DefaultMaxIdempotencyBytes bounds the memory of the outcomes kept
	// for replay; outcomes over a sixteenth of it (1 MiB) are not kept.
	DefaultMaxIdempotencyBytes = 16 << 20
)

// Config configures a Queue. The zero value is valid: every zero field takes
// its documented default.
type Config struct {
	// MaxSize bounds the jobs waiting to start (running ones do not count);
	// beyond it Do fails at once with ErrFull so that callers shed load
	// instead of piling up. If zero, defaults to 1000.
	MaxSize int

	// Concurrency is the number of jobs run at once, normally the executor's
	// capacity; SetConcurrency changes it at run time. If zero, defaults to 1.
	Concurrency int

	// AgingInterval is how long a job waits to gain one priority level, so
	// that low priorities are never starved. If zero, defaults to 5s.
	AgingInterval time.Duration

	// IdempotencyTTL is how long the outcome of a job with an IdempotencyKey
	// is kept, counted from that outcome, for repeats to replay. If zero,
	// defaults to 10m.
	IdempotencyTTL time.Duration

	// MaxIdempotencyKeys bounds the outcomes kept for replay (their values
	// stay in memory); past it the oldest are forgotten early. If zero,
	// defaults to 10000.
	MaxIdempotencyKeys int

	// MaxIdempotencyBytes bounds the memory of the outcomes kept for replay
	// (keys, values and about 256 bytes of overhead each); past it the
	// oldest are forgotten early. An outcome larger than a sixteenth of it
	// is not kept: a repeat gets ErrNotReplayable rather than running
	// again. If zero, defaults to 16 MiB.
	MaxIdempotencyBytes int64

	// GroupReserve is the share of Concurrency (at least one slot) that the
	// jobs of one Job.Group leave to other jobs; with a concurrency of 1 a
	// group may still use the slot. If zero, defaults to 0.25.
	GroupReserve float64

	// Logger receives rare events (shutdown, panicking jobs). The zero
	// value discards them.
	Logger zerolog.Logger

	// Registerer, if non-nil, receives the mcp_bridge_queue_* metrics.
	Registerer prometheus.Registerer
}

// Validate reports a Config that New would refuse: negative sizes or
// durations.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, field string, v any) {
		if bad {
			errs = append(errs, fmt.Errorf("queue: %s must not be negative, got %v", field, v))
		}
	}
	check(c.MaxSize < 0, "MaxSize", c.MaxSize)
	check(c.Concurrency < 0, "Concurrency", c.Concurrency)
	check(c.AgingInterval < 0, "AgingInterval", c.AgingInterval)
	check(c.IdempotencyTTL < 0, "IdempotencyTTL", c.IdempotencyTTL)
	check(c.MaxIdempotencyKeys < 0, "MaxIdempotencyKeys", c.MaxIdempotencyKeys)
	check(c.MaxIdempotencyBytes < 0, "MaxIdempotencyBytes", c.MaxIdempotencyBytes)
	if c.GroupReserve < 0 || c.GroupReserve > 1 || math.IsNaN(c.GroupReserve) {
		errs = append(errs, fmt.Errorf("queue: GroupReserve must be from 0 to 1, got %v", c.GroupReserve))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.AgingInterval == 0 {
		c.AgingInterval = DefaultAgingInterval
	}
	if c.IdempotencyTTL == 0 {
		c.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if c.MaxIdempotencyKeys == 0 {
		c.MaxIdempotencyKeys = DefaultMaxIdempotencyKeys
	}
	if c.GroupReserve == 0 {
		c.GroupReserve = DefaultGroupReserve
	}
	if c.MaxIdempotencyBytes == 0 {
		c.MaxIdempotencyBytes = DefaultMaxIdempotencyBytes
	}
	return c
}
