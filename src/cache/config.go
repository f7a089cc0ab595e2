package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxSize            = 1000
	DefaultMaxBytes           = 64 << 20 // 64 MiB
	DefaultMaxEntryBytes      = 1 << 20  // 1 MiB
	DefaultTTL                = 5 * time.Minute
	DefaultCleanupInterval    = time.Minute
	DefaultMaxLagWait         = 2 * time.Second
	DefaultLagRetryWait       = 10 * time.Millisecond
	DefaultSettle             = 250 * time.Millisecond
	DefaultConnectedInterval  = time.Second
	DefaultMaxStale           = 256
	DefaultMaxTrackedEntities = 100_000
	DefaultRedisTimeout       = 100 * time.Millisecond
	DefaultRedisRetry         = time.Second
	DefaultRedisPrefix        = "mcp-bridge:cache:v1:"
)

// Level says where a tool's answers are kept.
type Level int

const (
	// LevelNone never caches (writes, and any tool without a policy).
	LevelNone Level = iota
	// LevelL1 keeps answers in this process only.
	LevelL1
	// LevelL2 keeps answers in L1 and, when Redis is configured, in Redis
	// for the other bridge instances.
	LevelL2
)

// String returns "none", "l1" or "l2"; it is also the metrics' level label.
func (l Level) String() string {
	switch l {
	case LevelL1:
		return "l1"
	case LevelL2:
		return "l2"
	default:
		return "none"
	}
}

// ParseLevel parses "none", "l1" or "l2" (the add-on options' spelling).
func ParseLevel(s string) (Level, error) {
	switch s {
	case "none", "":
		return LevelNone, nil
	case "l1", "memory":
		return LevelL1, nil
	case "l2", "redis":
		return LevelL2, nil
	}
	return LevelNone, fmt.Errorf("cache: unknown level %q (want none, l1 or l2)", s)
}

// Fallback strategies, the seed's fallback_strategies.
const (
	FallbackNone            = ""                         // the caller gets the error
	FallbackCachedOrEmpty   = "return_cached_or_empty"   // last answer (stale), else an empty list
	FallbackCachedOrMinimal = "return_cached_or_minimal" // last answer (stale), else a minimal one
	FallbackFailFast        = "fail_fast_with_reason"    // writes: never a stale answer
)

// Policy is how one tool's answers are cached.
type Policy struct {
	// TTL bounds an answer's life even if nothing invalidates it. If zero,
	// Config.DefaultTTL.
	TTL time.Duration
	// Level is where answers are kept; LevelNone disables caching.
	Level Level
	// Fallback is the strategy when Home Assistant or the children fail;
	// see the Fallback* constants.
	Fallback string
}

// DefaultPolicies returns the seed design's policies for the Home Assistant
// tools: tools/list 1h, get_entities 60s, get_entity_state 10s (varying by
// entity_id, as every argument is part of the key), get_services and
// list_areas 1h (flushed by service and registry events), get_history and
// list_automations 60s. Tools not listed (call_service and every other
// write, render_template) are never cached. Config.Policies entries replace
// these entries whole. With Redis, the answers about states (entities,
// history, automations) are shared between instances (LevelL2); the tool
// list, services and areas, cheap to fill and rarely read, stay in each.
func DefaultPolicies() map[string]Policy {
	return map[string]Policy{
		ToolsList:           {TTL: time.Hour, Level: LevelL1},
		"get_entities":      {TTL: time.Minute, Level: LevelL2, Fallback: FallbackCachedOrEmpty},
		"get_entity_state":  {TTL: 10 * time.Second, Level: LevelL2, Fallback: FallbackCachedOrEmpty},
		"get_services":      {TTL: time.Hour, Level: LevelL1, Fallback: FallbackCachedOrMinimal},
		"list_areas":        {TTL: time.Hour, Level: LevelL1, Fallback: FallbackCachedOrEmpty},
		"get_history":       {TTL: time.Minute, Level: LevelL2},
		"list_automations":  {TTL: time.Minute, Level: LevelL2, Fallback: FallbackCachedOrEmpty},
		"call_service":      {Fallback: FallbackFailFast},
		"toggle_automation": {Fallback: FallbackFailFast},
		"create_automation": {Fallback: FallbackFailFast},
	}
}

// ToolsList is the pseudo-tool name of the children's tools/list answer.
const ToolsList = "tools/list"

// Config configures a Cache. The zero value is valid: every zero field takes
// its documented default, and no Redis is used.
type Config struct {
	// Disabled turns caching off: Do always fills, nothing is stored
	// (cache.enabled: false). Fallback still answers from the last answers.
	Disabled bool

	// MaxSize bounds the L1 entries; past it the least recently used go.
	// If zero, defaults to 1000.
	MaxSize int
	// MaxBytes bounds the L1 entries' total size (answer bytes plus a
	// small per-entry overhead), because answers range from 200 bytes to
	// hundreds of KiB. If zero, defaults to 64 MiB.
	MaxBytes int
	// MaxEntryBytes is the largest answer stored. If zero, defaults to
	// 1 MiB (and never more than MaxBytes).
	MaxEntryBytes int

	// DefaultTTL is the TTL of a policy without one. If zero, 5m.
	DefaultTTL time.Duration
	// Policies maps a tool name (or ToolsList) to its policy. If nil,
	// DefaultPolicies(); entries given replace the defaults' whole.
	Policies map[string]Policy

	// Reachable reports whether Home Assistant and the children can
	// answer; stale answers are given only while it returns false. If nil,
	// Fallback never answers.
	Reachable func() bool

	// ViewTime reports how current a filled answer is: the time of the
	// newest Home Assistant event the answering child had applied. An
	// answer older than the newest event the cache knows for what it
	// depends on is neither stored nor served. If nil, DefaultViewTime.
	ViewTime func(tool string, raw []byte) (time.Time, bool)
	// MaxLagWait bounds how long a fill waits for a lagging child view
	// before Do fails with ErrViewBehind. If zero, 2s.
	MaxLagWait time.Duration
	// LagRetryWait is the first wait before re-filling a lagging answer;
	// it doubles on each retry. If zero, 10ms.
	LagRetryWait time.Duration

	// Settle is how long after an invalidation of what an answer depends
	// on a fill that started meanwhile is served but not stored, when the
	// answer does not say how current it is (ViewTime): the child may not
	// have seen the event yet. If zero, 250ms; negative disables it.
	Settle time.Duration

	// Connected, if set, reports whether the bridge's own event
	// subscription is up and has resynchronised (hass.Client's connection
	// is up and its Missed event for that connection was delivered). Run
	// polls it every ConnectedInterval (if zero, 1s) and calls Pause when
	// it goes down, and so does every read that depends on Home Assistant,
	// so that no answer is served from before a drop the bridge already
	// knows of; the Missed event that hass delivers once it has
	// re-subscribed resumes caching. It is called on every such read: it
	// must be cheap.
	Connected         func() bool
	ConnectedInterval time.Duration

	// MaxStale bounds the last answers kept for Fallback. If zero, 256.
	MaxStale int
	// MaxTrackedEntities bounds the per-entity event watermarks; past it
	// they collapse into one (safe, coarser). If zero, 100 000.
	MaxTrackedEntities int
	// CleanupInterval is how often Run removes expired entries. If zero, 1m.
	CleanupInterval time.Duration

	// RedisURL, if set (redis://host:6379/0), adds the L2 shared by the
	// instances that use the same URL and RedisPrefix.
	RedisURL string
	// RedisPrefix prefixes L2 keys and names the invalidation channel. If
	// empty, "mcp-bridge:cache:v1:".
	RedisPrefix string
	// RedisTimeout bounds each Redis operation. If zero, 100ms.
	RedisTimeout time.Duration
	// RedisRetry is how long L2 is skipped after a Redis failure before
	// it is tried again. If zero, 1s.
	RedisRetry time.Duration

	// Logger receives rare events (Redis lost and back). The zero value
	// discards them.
	Logger zerolog.Logger
	// Registerer, if non-nil, receives the mcp_bridge_cache_* metrics.
	Registerer prometheus.Registerer
}

// Validate reports a Config that New would refuse.
func (c Config) Validate() error {
	var errs []error
	neg := func(bad bool, field string, v any) {
		if bad {
			errs = append(errs, fmt.Errorf("cache: %s must not be negative, got %v", field, v))
		}
	}
	neg(c.MaxSize < 0, "MaxSize", c.MaxSize)
	neg(c.MaxBytes < 0, "MaxBytes", c.MaxBytes)
	neg(c.MaxEntryBytes < 0, "MaxEntryBytes", c.MaxEntryBytes)
	neg(c.DefaultTTL < 0, "DefaultTTL", c.DefaultTTL)
	neg(c.MaxLagWait < 0, "MaxLagWait", c.MaxLagWait)
	neg(c.LagRetryWait < 0, "LagRetryWait", c.LagRetryWait)
	neg(c.MaxStale < 0, "MaxStale", c.MaxStale)
	neg(c.MaxTrackedEntities < 0, "MaxTrackedEntities", c.MaxTrackedEntities)
	neg(c.CleanupInterval < 0, "CleanupInterval", c.CleanupInterval)
	neg(c.ConnectedInterval < 0, "ConnectedInterval", c.ConnectedInterval)
	neg(c.RedisTimeout < 0, "RedisTimeout", c.RedisTimeout)
	neg(c.RedisRetry < 0, "RedisRetry", c.RedisRetry)
	for name, p := range c.Policies {
		neg(p.TTL < 0, "Policies["+name+"].TTL", p.TTL)
		switch p.Fallback {
		case FallbackNone, FallbackCachedOrEmpty, FallbackCachedOrMinimal, FallbackFailFast:
		default:
			errs = append(errs, fmt.Errorf("cache: Policies[%s].Fallback: unknown strategy %q", name, p.Fallback))
		}
		if p.Level < LevelNone || p.Level > LevelL2 {
			errs = append(errs, fmt.Errorf("cache: Policies[%s].Level: unknown level %d", name, p.Level))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxSize, DefaultMaxSize)
	def(&c.MaxBytes, DefaultMaxBytes)
	def(&c.MaxEntryBytes, DefaultMaxEntryBytes)
	c.MaxEntryBytes = min(c.MaxEntryBytes, c.MaxBytes)
	def(&c.MaxStale, DefaultMaxStale)
	def(&c.MaxTrackedEntities, DefaultMaxTrackedEntities)
	dur(&c.DefaultTTL, DefaultTTL)
	dur(&c.MaxLagWait, DefaultMaxLagWait)
	dur(&c.LagRetryWait, DefaultLagRetryWait)
	dur(&c.Settle, DefaultSettle)
	dur(&c.ConnectedInterval, DefaultConnectedInterval)
	dur(&c.CleanupInterval, DefaultCleanupInterval)
	dur(&c.RedisTimeout, DefaultRedisTimeout)
	dur(&c.RedisRetry, DefaultRedisRetry)
	if c.RedisPrefix == "" {
		c.RedisPrefix = DefaultRedisPrefix
	}
	if c.ViewTime == nil {
		c.ViewTime = DefaultViewTime
	}
	pols := DefaultPolicies()
	for name, p := range c.Policies {
		pols[name] = p
	}
	for name, p := range pols {
		if p.TTL == 0 {
			p.TTL = c.DefaultTTL
			pols[name] = p
		}
	}
	c.Policies = pols
	return c
}
