package tools

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxAnswerBytes  = 48 << 10
	DefaultLimit           = 100
	DefaultMaxLimit        = 1000
	DefaultTimeout         = 30 * time.Second
	DefaultUnavailableWait = 5 * time.Second
	DefaultSettleTime      = 300 * time.Millisecond
	DefaultIndexMaxAge     = 10 * time.Minute
	DefaultWarmTimeout     = 15 * time.Second
	DefaultHistoryPoints   = 100
)

// DefaultConfirmServices are the services that need "confirm": true when
// Config.ConfirmServices is nil: opening a lock, disarming an alarm, and
// stopping or restarting Home Assistant itself.
var DefaultConfirmServices = []string{
	"lock.unlock",
	"lock.open",
	"alarm_control_panel.alarm_disarm",
	"homeassistant.restart",
	"homeassistant.stop",
}

// DefaultConfirmCoverClasses are the cover device classes whose every
// service needs "confirm": true when Config.ConfirmCoverClasses is nil.
var DefaultConfirmCoverClasses = []string{"garage", "gate"}

// ErrConfig is wrapped by every error of Config.Validate.
var ErrConfig = errors.New("tools: invalid config")

// Config configures the tools. The zero value exposes every entity and
// every tool, with DefaultConfirmServices and DefaultConfirmCoverClasses.
type Config struct {
	// ReadOnly hides the tools that change Home Assistant (call_service,
	// create_automation, toggle_automation).
	ReadOnly bool
	// AllowedDomains are path.Match patterns of entity domains ("light",
	// "sensor", "input_*"); an entity of another domain is hidden and a
	// service of another domain cannot be called. Empty allows every domain.
	AllowedDomains []string
	// BlockedEntities are path.Match patterns of entity ids ("lock.*",
	// "sensor.*_gps") that are hidden from every answer and cannot be
	// targeted.
	BlockedEntities []string
	// ConfirmServices are path.Match patterns of "domain.service" that are
	// refused unless the call passes "confirm": true. If nil, defaults to
	// DefaultConfirmServices; an empty non-nil slice confirms nothing.
	ConfirmServices []string
	// ConfirmCoverClasses are cover device classes (garage, gate...) whose
	// every service needs "confirm": true. If nil, defaults to
	// DefaultConfirmCoverClasses; an empty non-nil slice confirms none.
	ConfirmCoverClasses []string

	// Logger receives tool calls and failures. The zero value logs nothing.
	Logger zerolog.Logger
	// Name and Version identify the server in the MCP handshake. If empty,
	// "mcp-bridge-homeassistant" and "dev".
	Name, Version string

	// MaxAnswerBytes bounds both the text and the structured part of one
	// answer; longer lists are cut (with a next offset) and long values
	// shortened. If zero, defaults to 48 KiB.
	MaxAnswerBytes int
	// DefaultLimit is the page size of list tools when the call gives no
	// limit; MaxLimit the largest limit accepted. If zero, 100 and 1000.
	DefaultLimit, MaxLimit int
	// HistoryPoints is how many state changes get_history returns per
	// entity by default. If zero, defaults to 100.
	HistoryPoints int
	// Timeout bounds one tool call. If zero, defaults to 30 s.
	Timeout time.Duration
	// UnavailableWait is how long a call waits for a connection to Home
	// Assistant before answering that it is unavailable. If zero, 5 s.
	UnavailableWait time.Duration
	// SettleTime is how long call_service waits, after Home Assistant
	// answered, for state changes of targets that have not changed yet.
	// If zero, defaults to 300 ms.
	SettleTime time.Duration
	// IndexMaxAge forces a full reload of the state index when it is older,
	// as a safety net behind event tracking. If zero, defaults to 10 min.
	IndexMaxAge time.Duration
	// WarmTimeout bounds how long Serve loads the state index before it
	// starts the MCP session, so that the client's first call does not
	// wait for that load (a pool hands a child calls only once it has
	// answered initialize). Past it the session starts anyway and the first
	// call loads the index. If zero, defaults to 15 s (below the pool's
	// 30 s start timeout); negative skips the warm-up.
	WarmTimeout time.Duration
	// ReleaseMemory returns the memory freed after each full load of the
	// state index to the operating system at once (debug.FreeOSMemory): the
	// load's garbage is several times the index, and the runtime would
	// otherwise keep it for minutes. It costs one collection per load. Set
	// it in a process that serves one session, as the add-on's stdio
	// children do; it affects the whole process.
	ReleaseMemory bool
	// GCHeadroom, if positive, lets the process allocate about that much,
	// or as much as its live heap if that is more, between two garbage
	// collections, instead of the runtime's default of as much as the live
	// heap with at least 4 MiB of heap in all: after each full load of the
	// state index it sets GOGC to the percentage of the live heap that
	// allowance is (at least 100). A small home then collects several
	// times less often (every collection marks the index, and the go-sdk
	// server's decoders allocate 64 KiB a call), and a large one as often
	// as before; a live heap that grows until the next load (a long
	// history, the next load itself) grows the allowance with it, so the
	// process never collects continuously, as it would past a memory
	// limit. The allowance is memory held only while calls come: a second
	// after the last one, the process returns it to the system
	// (debug.FreeOSMemory). It needs ReleaseMemory (the load's garbage
	// must be gone when the live heap is read) and affects the whole
	// process.
	GCHeadroom int64
	// Now is the clock, for relative times and automation ids. If nil,
	// time.Now.
	Now func() time.Time
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.ConfirmServices == nil {
		c.ConfirmServices = DefaultConfirmServices
	}
	if c.ConfirmCoverClasses == nil {
		c.ConfirmCoverClasses = DefaultConfirmCoverClasses
	}
	if c.Name == "" {
		c.Name = "mcp-bridge-homeassistant"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	setDefault(&c.MaxAnswerBytes, DefaultMaxAnswerBytes)
	setDefault(&c.DefaultLimit, DefaultLimit)
	setDefault(&c.MaxLimit, DefaultMaxLimit)
	setDefault(&c.HistoryPoints, DefaultHistoryPoints)
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.UnavailableWait, DefaultUnavailableWait)
	setDefault(&c.SettleTime, DefaultSettleTime)
	setDefault(&c.IndexMaxAge, DefaultIndexMaxAge)
	setDefault(&c.WarmTimeout, DefaultWarmTimeout)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Validate reports the first problem with c, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, list := range []struct {
		name     string
		patterns []string
	}{
		{"AllowedDomains", c.AllowedDomains},
		{"BlockedEntities", c.BlockedEntities},
		{"ConfirmServices", c.ConfirmServices},
	} {
		if err := checkPatterns(list.patterns); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrConfig, list.name, err)
		}
	}
	switch {
	case c.MaxAnswerBytes < 4096:
		return fmt.Errorf("%w: MaxAnswerBytes %d is below 4096", ErrConfig, c.MaxAnswerBytes)
	case c.DefaultLimit < 1 || c.MaxLimit < c.DefaultLimit:
		return fmt.Errorf("%w: need 1 <= DefaultLimit <= MaxLimit, got %d and %d", ErrConfig, c.DefaultLimit, c.MaxLimit)
	case c.HistoryPoints < 1:
		return fmt.Errorf("%w: HistoryPoints must be positive", ErrConfig)
	case c.Timeout < 0 || c.UnavailableWait < 0 || c.SettleTime < 0 || c.IndexMaxAge < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrConfig)
	case c.GCHeadroom < 0 || c.GCHeadroom > 0 && !c.ReleaseMemory:
		return fmt.Errorf("%w: GCHeadroom must not be negative, and needs ReleaseMemory", ErrConfig)
	}
	return nil
}

// checkPatterns reports the first malformed or empty pattern.
func checkPatterns(patterns []string) error {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			return errors.New("empty pattern")
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return nil
}
