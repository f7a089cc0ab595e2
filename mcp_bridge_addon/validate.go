package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// logLevels are the add-on's log levels, in the Supervisor's spelling.
var logLevels = []string{"trace", "debug", "info", "notice", "warning", "error", "fatal"}

var (
	serviceName  = regexp.MustCompile(`^[a-z0-9_]+\.[a-z0-9_]+$`)
	hostnameLike = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
)

// minTokenLength keeps api_token from being guessable on the LAN.
const minTokenLength = 16

// problems collects validation errors, each naming the key as the user
// wrote it (see Config.name).
type problems struct {
	c    *Config
	errs []error
}

func (p *problems) addf(key, format string, args ...any) {
	p.errs = append(p.errs, &configError{Key: key, Msg: p.c.name(key) + ": " + fmt.Sprintf(format, args...)})
}

// configError is one configuration problem. Msg names the key as the user
// wrote it; Key is the key path, so that the loader can tell problems apart.
type configError struct {
	Key string // "bridge.port"
	Msg string // "MCP_BRIDGE_PORT: 70000 is not a valid port (1-65535)"
}

func (e *configError) Error() string { return e.Msg }

func (p *problems) port(key string, v int, allowZero bool) {
	switch {
	case allowZero && v == 0:
	case v < 1 || v > 65535:
		allowed := "1-65535"
		if allowZero {
			allowed = "1-65535, or 0 to disable"
		}
		p.addf(key, "%d is not a valid port (%s)", v, allowed)
	}
}

func (p *problems) atLeast(key string, v, lowest int) {
	if v < lowest {
		p.addf(key, "%d is too small (at least %d)", v, lowest)
	}
}

// Validate reports every problem with c at once, one line each, so that a
// user can fix the whole configuration in one go.
func (c *Config) Validate() error {
	p := &problems{c: c}
	c.validateCore(p)
	c.validateBridge(p)
	c.validateTools(p)
	c.validateQueueAndPool(p)
	c.validateCache(p)
	c.validateLimits(p)
	return errors.Join(p.errs...)
}

func (c *Config) validateCore(p *problems) {
	switch c.Mode {
	case ModeAddon, ModeStandalone:
		if c.HomeAssistant.RESTURL == "" || c.HomeAssistant.WebSocketURL == "" {
			p.addf("home_assistant.url", "is required")
		}
		if c.HomeAssistant.Token == "" {
			p.addf("home_assistant.token", "is required")
		}
	case ModeDemo:
	default:
		p.addf("mode", "%q is not a mode (%s, %s, %s)", c.Mode, ModeAddon, ModeStandalone, ModeDemo)
	}
	if !slices.Contains(logLevels, c.Logging.Level) {
		p.addf("logging.level", "%q is not a log level (%s)", c.Logging.Level, strings.Join(logLevels, ", "))
	}
	if c.Logging.Format != "console" && c.Logging.Format != "json" {
		p.addf("logging.format", "%q is not a log format (console, json)", c.Logging.Format)
	}
	hp := c.Monitoring.HealthCheckPath
	if !strings.HasPrefix(hp, "/") || strings.ContainsAny(hp, " ?#\t\r\n") {
		p.addf("monitoring.health_check_path", "%q is not a URL path (it starts with /)", hp)
	}
	p.port("monitoring.prometheus_port", c.Monitoring.PrometheusPort, true)
}

func (c *Config) validateBridge(p *problems) {
	b := c.Bridge
	if net.ParseIP(b.Host) == nil && !hostnameLike.MatchString(b.Host) {
		p.addf("bridge.host", "%q is not an IP address or host name", b.Host)
	}
	p.port("bridge.port", b.Port, false)
	p.port("bridge.ingress_port", b.IngressPort, true)
	if b.IngressPort != 0 && b.IngressPort == b.Port {
		p.addf("bridge.ingress_port", "%d is already the API port (%s)", b.IngressPort, c.name("bridge.port"))
	}
	if pp := c.Monitoring.PrometheusPort; pp != 0 && (pp == b.Port || pp == b.IngressPort) {
		p.addf("monitoring.prometheus_port", "%d is already the API or Ingress port; use 0 to serve /metrics on the API port", pp)
	}
	switch {
	case b.APIToken == "":
	case strings.ContainsAny(b.APIToken, " \t\r\n"):
		p.addf("bridge.api_token", "must not contain spaces")
	case len(b.APIToken) < minTokenLength:
		p.addf("bridge.api_token", "is %d characters long; use at least %d (for example the output of `openssl rand -hex 32`)",
			len(b.APIToken), minTokenLength)
	}
	if b.DataDir == "" {
		p.addf("bridge.data_dir", "must not be empty")
	}
}

func (c *Config) validateTools(p *problems) {
	t := c.Tools
	for _, pattern := range t.AllowedDomains {
		checkGlob(p, "tools.allowed_domains", pattern)
	}
	for _, pattern := range t.BlockedEntities {
		checkGlob(p, "tools.blocked_entities", pattern)
	}
	for _, s := range t.ConfirmServices {
		if !serviceName.MatchString(s) {
			p.addf("tools.confirm_services", "%q is not a service name like lock.unlock", s)
		}
	}
}

func checkGlob(p *problems, key, pattern string) {
	if _, err := path.Match(pattern, ""); pattern == "" || err != nil {
		p.addf(key, "%q is not a valid glob pattern (like light or light.kitchen_*)", pattern)
	}
}

// Upper bounds of the queue and pool settings: far above any sensible
// value, low enough that a typo (an extra zero or two) is caught instead of
// starting hundreds of processes or holding calls for a day.
const (
	maxQueueSize      = 1_000_000
	maxTimeoutSeconds = 3600
	maxRetries        = 10
	maxSessions       = 100
	maxInflight       = 100
)

func (p *problems) between(key string, v, lowest, highest int) {
	if v < lowest || v > highest {
		p.addf(key, "%d is not between %d and %d", v, lowest, highest)
	}
}

func (c *Config) validateQueueAndPool(p *problems) {
	q, s := c.Queue, c.SessionPool
	p.between("queue.max_size", q.MaxSize, 1, maxQueueSize)
	p.between("queue.timeout_seconds", q.TimeoutSeconds, 1, maxTimeoutSeconds)
	p.between("queue.max_retries", q.MaxRetries, 0, maxRetries)
	p.between("queue.max_timeout_seconds", q.MaxTimeoutSeconds, 1, maxTimeoutSeconds)
	p.between("queue.input_timeout_seconds", q.InputTimeoutSeconds, 1, maxTimeoutSeconds)
	// The default cap grows with timeout_seconds (see bridgeConfig); only a
	// cap the user chose can be below it.
	if _, set := c.origin["queue.max_timeout_seconds"]; set && q.TimeoutSeconds > q.MaxTimeoutSeconds {
		p.addf("queue.timeout_seconds", "%d is more than %s (%d)",
			q.TimeoutSeconds, c.name("queue.max_timeout_seconds"), q.MaxTimeoutSeconds)
	}
	for _, tool := range slices.Sorted(maps.Keys(q.ToolTimeoutsSeconds)) {
		if v := q.ToolTimeoutsSeconds[tool]; v < 1 || v > maxTimeoutSeconds {
			p.errs = append(p.errs, &configError{Key: "queue.tool_timeouts_seconds",
				Msg: fmt.Sprintf("%s.%s: %d is not between 1 and %d",
					c.name("queue.tool_timeouts_seconds"), tool, v, maxTimeoutSeconds)})
		}
	}
	p.between("session_pool.min_connections", s.MinConnections, 1, maxSessions)
	p.between("session_pool.max_connections", s.MaxConnections, 1, maxSessions)
	p.between("session_pool.stateless_connections", s.StatelessConnections, 0, maxSessions)
	if s.MinConnections > s.MaxConnections {
		p.addf("session_pool.min_connections", "%d is more than %s (%d)",
			s.MinConnections, c.name("session_pool.max_connections"), s.MaxConnections)
	}
	// The default target follows min and max (see poolConfig); only a
	// target the user chose can be out of range.
	if _, set := c.origin["session_pool.target_connections"]; set &&
		(s.TargetConnections < s.MinConnections || s.TargetConnections > s.MaxConnections) {
		p.addf("session_pool.target_connections", "%d is not between %s (%d) and %s (%d)",
			s.TargetConnections, c.name("session_pool.min_connections"), s.MinConnections,
			c.name("session_pool.max_connections"), s.MaxConnections)
	}
	p.atLeast("session_pool.health_check_interval_seconds", s.HealthCheckIntervalSeconds, 1)
	p.atLeast("session_pool.idle_timeout_seconds", s.IdleTimeoutSeconds, 1)
	p.between("session_pool.max_inflight_per_session", s.MaxInflightPerSession, 1, maxInflight)
	if len(s.Command) > 0 && strings.TrimSpace(s.Command[0]) == "" {
		p.addf("session_pool.command", "the program name is empty")
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			p.addf("session_pool.env", "%q is not an environment variable name", k)
		}
	}
}

func (c *Config) validateCache(p *problems) {
	cc := c.Cache
	p.atLeast("cache.default_ttl_seconds", cc.DefaultTTLSeconds, 0)
	p.atLeast("cache.max_size", cc.MaxSize, 1)
	p.atLeast("cache.levels.l1.max_size", cc.Levels.L1.MaxSize, 1)
	if cc.Levels.L1.Type != "memory" {
		p.addf("cache.levels.l1.type", "%q is not supported (memory)", cc.Levels.L1.Type)
	}
	if cc.Levels.L2.Type != "redis" {
		p.addf("cache.levels.l2.type", "%q is not supported (redis)", cc.Levels.L2.Type)
	}
	if l2 := cc.Levels.L2; l2.Enabled || l2.URL != "" {
		if u, err := url.Parse(l2.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			p.addf("cache.levels.l2.url", "%q is not a redis:// or rediss:// URL", redactURL(l2.URL))
		}
	}
}

func (c *Config) validateLimits(p *problems) {
	r, b := c.RateLimiting, c.CircuitBreaker
	if !(r.RequestsPerSecond > 0) || r.RequestsPerSecond > 1e9 {
		p.addf("rate_limiting.requests_per_second", "%v is not a positive rate (use 0 in rate_limit_per_second, "+
			"or rate_limiting.enabled: false, to turn the limit off)", r.RequestsPerSecond)
	}
	p.atLeast("rate_limiting.burst_capacity", r.BurstCapacity, 1)
	p.atLeast("circuit_breaker.failure_threshold", b.FailureThreshold, 1)
	p.atLeast("circuit_breaker.recovery_timeout_seconds", b.RecoveryTimeoutSeconds, 1)
}
