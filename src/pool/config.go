package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Config configures a [Pool]. Zero fields take the documented defaults.
type Config struct {
	// Command is the child's program and arguments. Required; main sets it
	// to [os.Executable(), "stdio"] unless the user configured another
	// stdio MCP server.
	Command []string
	// Env is added to this process's environment for each child.
	Env []string
	// Dir is the children's working directory. If empty, ours.
	Dir string

	// MinSessions is the fewest children kept running. If zero, 2 (or
	// MaxSessions if that is 1).
	MinSessions int
	// MaxSessions is the most children ever running. If zero, 10.
	MaxSessions int
	// TargetSessions is how many children start (clamped to
	// [MinSessions, MaxSessions]); without AutoScale the pool stays there.
	// If zero, 5.
	TargetSessions int
	// ScaleFactor multiplies the number of children when scaling up; it
	// must be above 1. If zero, 1.5.
	ScaleFactor float64
	// IdleTimeout is how long a child may serve nothing before autoscaling
	// stops it (never below MinSessions). If zero, 300s.
	IdleTimeout time.Duration
	// AutoScale enables scaling between MinSessions and MaxSessions.
	AutoScale bool
	// ScaleInterval is how often autoscaling looks at the load. If zero, 5s.
	ScaleInterval time.Duration
	// ScaleUpLatency is the average call duration above which a long queue
	// adds children. If zero, 1s.
	ScaleUpLatency time.Duration
	// QueueLength reports the length of the queue in front of the pool, as
	// autoscaling input. If nil, only callers waiting in Call count.
	QueueLength func() int

	// HealthCheckInterval is how often each child is pinged. If zero, 60s;
	// negative disables health checks.
	HealthCheckInterval time.Duration
	// HealthCheckTimeout bounds each ping. If zero, 10s.
	HealthCheckTimeout time.Duration
	// HealthCheckFailures is how many pings in a row a child may miss
	// before it is replaced. One is not enough: a child that serves one
	// request at a time, or a moment of load, can miss a ping while it is
	// still doing useful work that a restart would lose. If zero, 2.
	HealthCheckFailures int
	// MaxInflightPerSession is how many calls one child serves at once. If
	// zero, 1: everything a child sends back then belongs to that call.
	MaxInflightPerSession int

	// MaxStatelessSessions is the most children spoken to in the stateless
	// 2026-07-28 protocol (mcpconn.StatelessProtocolVersion), without
	// initialize. They start on demand, when a call's Handlers ask for that
	// protocol, and are counted apart from MinSessions and MaxSessions;
	// with AutoScale, one idle for IdleTimeout stops. If the children do
	// not speak the protocol, the first one's server/discover says so and
	// such calls run on the other children from then on; after another
	// failure to start (within StartTimeout, at most 10s), for
	// RestartBackoffMax, doubling with each failure in a row. If zero, 2;
	// negative: none, every call runs on handshake-era children.
	MaxStatelessSessions int

	// StartTimeout bounds spawning plus the initialize handshake. If zero, 30s.
	StartTimeout time.Duration
	// StopTimeout is the wait at each step of the stop order. If zero, 5s.
	StopTimeout time.Duration
	// DrainTimeout bounds how long calls in flight may finish when a child
	// is stopped (shutdown, scale down). If zero, 30s.
	DrainTimeout time.Duration
	// RestartBackoffMin and RestartBackoffMax bound the exponential delay
	// before restarting a child that failed. If zero, 500ms and 30s.
	RestartBackoffMin, RestartBackoffMax time.Duration

	// ClientVersion is sent as clientInfo.version in initialize. If empty, "dev".
	ClientVersion string
	// ClientCapabilities is sent in initialize. If nil, {}: the children
	// should not ask for sampling, elicitation or roots.
	ClientCapabilities json.RawMessage
	// LogLevel, if set, is sent as logging/setLevel to each child that
	// declares the logging capability, right after it starts: MCP servers
	// send no log messages until a client sets a level. The bridge asks
	// for the most and filters per client.
	LogLevel string
	// Handlers receive what a child sends that no call claims: list_changed
	// and resources/updated notifications, log messages between calls,
	// requests made while idle. Child names which child sent it. Optional.
	Handlers func(child string) *mcpconn.Handlers
	// Logger receives pool events and children's stderr. Zero value: discard.
	Logger zerolog.Logger
	// Registerer, if non-nil, registers the pool's metrics.
	Registerer prometheus.Registerer
}

// Validate reports whether c is usable (after defaults are applied).
func (c *Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if len(d.Command) == 0 || d.Command[0] == "" {
		errs = append(errs, errors.New("pool: Command is empty"))
	}
	if d.MinSessions < 1 || d.MaxSessions < d.MinSessions {
		errs = append(errs, fmt.Errorf("pool: need 1 <= MinSessions (%d) <= MaxSessions (%d)", d.MinSessions, d.MaxSessions))
	}
	if d.ScaleFactor <= 1 {
		errs = append(errs, fmt.Errorf("pool: ScaleFactor %g must be above 1", d.ScaleFactor))
	}
	if d.MaxInflightPerSession < 1 {
		errs = append(errs, fmt.Errorf("pool: MaxInflightPerSession %d must be at least 1", d.MaxInflightPerSession))
	}
	if d.HealthCheckFailures < 1 {
		errs = append(errs, fmt.Errorf("pool: HealthCheckFailures %d must be at least 1", d.HealthCheckFailures))
	}
	for name, v := range map[string]time.Duration{
		"IdleTimeout": d.IdleTimeout, "ScaleInterval": d.ScaleInterval, "ScaleUpLatency": d.ScaleUpLatency,
		"HealthCheckTimeout": d.HealthCheckTimeout, "StartTimeout": d.StartTimeout, "StopTimeout": d.StopTimeout,
		"DrainTimeout": d.DrainTimeout, "RestartBackoffMin": d.RestartBackoffMin, "RestartBackoffMax": d.RestartBackoffMax,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("pool: %s %v is negative", name, v))
		}
	}
	if d.RestartBackoffMax < d.RestartBackoffMin {
		errs = append(errs, fmt.Errorf("pool: RestartBackoffMax %v is below RestartBackoffMin %v", d.RestartBackoffMax, d.RestartBackoffMin))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.MinSessions == 0 {
		c.MinSessions = 2
		if c.MaxSessions > 0 {
			c.MinSessions = min(2, c.MaxSessions)
		}
	}
	def(&c.MaxSessions, 10)
	def(&c.TargetSessions, 5)
	def(&c.MaxInflightPerSession, 1)
	def(&c.MaxStatelessSessions, 2)
	def(&c.HealthCheckFailures, 2)
	if c.ScaleFactor == 0 {
		c.ScaleFactor = 1.5
	}
	defDur(&c.IdleTimeout, 300*time.Second)
	defDur(&c.ScaleInterval, 5*time.Second)
	defDur(&c.ScaleUpLatency, time.Second)
	defDur(&c.HealthCheckInterval, 60*time.Second)
	defDur(&c.HealthCheckTimeout, 10*time.Second)
	defDur(&c.StartTimeout, 30*time.Second)
	defDur(&c.StopTimeout, 5*time.Second)
	defDur(&c.DrainTimeout, 30*time.Second)
	defDur(&c.RestartBackoffMin, 500*time.Millisecond)
	defDur(&c.RestartBackoffMax, 30*time.Second)
	c.TargetSessions = max(c.MinSessions, min(c.TargetSessions, c.MaxSessions))
	return c
}
