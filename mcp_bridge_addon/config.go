package main

import (
	"slices"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/tools"
)

// Modes of operation, chosen by buildConfig from the environment.
const (
	ModeAddon      = "addon"      // under the Supervisor: SUPERVISOR_TOKEN set, HASS_URL not
	ModeStandalone = "standalone" // HASS_URL and HASS_TOKEN (or home_assistant in the file)
	ModeDemo       = "demo"       // --demo: an in-process simulated home (simhome)
)

// Config is the bridge's effective configuration: defaults, then the add-on
// options, the YAML file, the environment and the flags, each overriding the
// previous ones, validated as a whole. buildConfig is the only way to build
// one; every component gets its settings from it.
type Config struct {
	Mode           string               `yaml:"mode"`
	HomeAssistant  HomeAssistantConfig  `yaml:"home_assistant"`
	Bridge         BridgeConfig         `yaml:"bridge"`
	Tools          ToolsConfig          `yaml:"tools"`
	Queue          QueueConfig          `yaml:"queue"`
	SessionPool    SessionPoolConfig    `yaml:"session_pool"`
	Cache          CacheConfig          `yaml:"cache"`
	RateLimiting   RateLimitConfig      `yaml:"rate_limiting"`
	CircuitBreaker CircuitBreakerConfig `yaml:"circuit_breaker"`
	Logging        LoggingConfig        `yaml:"logging"`
	Monitoring     MonitoringConfig     `yaml:"monitoring"`

	// origin maps a key path ("bridge.port") to the name of the source that
	// set it last ("MCP_BRIDGE_PORT", "--port", "config.yaml: bridge.port"),
	// so that errors name what the user wrote.
	origin map[string]string

	// apiTokenFile is set when Bridge.APIToken was not configured but
	// generated at the first start and kept in this file (ensureAPIToken).
	apiTokenFile string
	// discovery is set in add-on mode when the bridge offers itself to Home
	// Assistant's MCP integration (prepareDiscovery).
	discovery *discovery
}

// HomeAssistantConfig says how to reach Home Assistant. In demo mode it is
// empty until the simulated home is started (see startDemo).
type HomeAssistantConfig struct {
	RESTURL      string `yaml:"rest_url"`      // ends in /api; add-on: $SUPERVISOR_URL/core/api
	WebSocketURL string `yaml:"websocket_url"` // add-on: ws://supervisor/core/websocket
	Token        string `yaml:"token"`         // HASS_TOKEN or SUPERVISOR_TOKEN; never logged
}

// BridgeConfig is the HTTP side of the bridge (yaml "bridge").
type BridgeConfig struct {
	Host        string `yaml:"host"`         // main API bind address; default 0.0.0.0 (127.0.0.1 when there is no api_token, standalone)
	Port        int    `yaml:"port"`         // main API port; default 3003
	IngressPort int    `yaml:"ingress_port"` // Ingress status page port; default 8099, 0 disables it
	APIToken    string `yaml:"api_token"`    // bearer token for the main API; never logged
	DataDir     string `yaml:"data_dir"`     // persistent data; default /data (add-on) or ./data
	Debug       bool   `yaml:"debug"`        // lowers the log level to at least debug
}

// ToolsConfig limits what the Home Assistant MCP tools may do (yaml "tools").
type ToolsConfig struct {
	ReadOnly        bool     `yaml:"read_only"`        // add-on option read_only
	AllowedDomains  []string `yaml:"allowed_domains"`  // glob patterns; empty = all
	BlockedEntities []string `yaml:"blocked_entities"` // glob patterns
	ConfirmServices []string `yaml:"confirm_services"` // "domain.service" needing confirmation
}

// QueueConfig is the request queue (yaml "queue").
type QueueConfig struct {
	MaxSize              int  `yaml:"max_size"`        // default 1000
	TimeoutSeconds       int  `yaml:"timeout_seconds"` // default 30
	PriorityEnabled      bool `yaml:"priority_enabled"`
	DeduplicationEnabled bool `yaml:"deduplication_enabled"`
	MaxRetries           int  `yaml:"max_retries"` // default 3
	// MaxTimeoutSeconds caps the timeout a caller may ask for (X-Timeout).
	MaxTimeoutSeconds int `yaml:"max_timeout_seconds"` // default 300
	// ToolTimeoutsSeconds overrides the time limit of single tools; the
	// seed's get_entities 10, call_service 30 and create_automation 60
	// apply otherwise, and TimeoutSeconds to every other tool.
	ToolTimeoutsSeconds map[string]int `yaml:"tool_timeouts_seconds"`
	// InputTimeoutSeconds bounds how long a 2026-07-28 client's call parked
	// for the client's input waits for the client's retry (see
	// mcphttp.Config.InputTimeout).
	InputTimeoutSeconds int `yaml:"input_timeout_seconds"` // default 20
}

// Timeout returns TimeoutSeconds as a duration.
func (q QueueConfig) Timeout() time.Duration { return seconds(q.TimeoutSeconds) }

// InputTimeout returns InputTimeoutSeconds as a duration.
func (q QueueConfig) InputTimeout() time.Duration { return seconds(q.InputTimeoutSeconds) }

// MaxTimeout returns MaxTimeoutSeconds as a duration.
func (q QueueConfig) MaxTimeout() time.Duration { return seconds(q.MaxTimeoutSeconds) }

// SessionPoolConfig is the pool of stdio MCP children (yaml "session_pool").
type SessionPoolConfig struct {
	MinConnections             int  `yaml:"min_connections"`    // default 2
	MaxConnections             int  `yaml:"max_connections"`    // default 10
	TargetConnections          int  `yaml:"target_connections"` // default 2 for our own stdio child, else 5
	AutoScale                  bool `yaml:"auto_scale"`
	HealthCheckIntervalSeconds int  `yaml:"health_check_interval_seconds"` // default 60
	IdleTimeoutSeconds         int  `yaml:"idle_timeout_seconds"`          // default 300
	MaxInflightPerSession      int  `yaml:"max_inflight_per_session"`      // calls one child serves at once; default 16 for our own stdio child, else 1
	// StatelessConnections bounds the children spoken to in the 2026-07-28
	// protocol, started on demand for that protocol's clients (see
	// pool.Config.MaxStatelessSessions); 0: none.
	StatelessConnections int               `yaml:"stateless_connections"` // default 2
	Command              []string          `yaml:"command"`               // empty = this binary's stdio subcommand
	Env                  map[string]string `yaml:"env"`                   // extra environment for the children
}

// HealthCheckInterval returns HealthCheckIntervalSeconds as a duration.
func (p SessionPoolConfig) HealthCheckInterval() time.Duration {
	return seconds(p.HealthCheckIntervalSeconds)
}

// IdleTimeout returns IdleTimeoutSeconds as a duration.
func (p SessionPoolConfig) IdleTimeout() time.Duration { return seconds(p.IdleTimeoutSeconds) }

// CacheConfig is the response cache (yaml "cache").
type CacheConfig struct {
	Enabled           bool        `yaml:"enabled"`
	DefaultTTLSeconds int         `yaml:"default_ttl_seconds"` // default 300
	MaxSize           int         `yaml:"max_size"`            // default 1000
	Levels            CacheLevels `yaml:"levels"`
}

// DefaultTTL returns DefaultTTLSeconds as a duration.
func (c CacheConfig) DefaultTTL() time.Duration { return seconds(c.DefaultTTLSeconds) }

// CacheLevels are the two cache levels.
type CacheLevels struct {
	L1 CacheL1Config `yaml:"l1"`
	L2 CacheL2Config `yaml:"l2"`
}

// CacheL1Config is the in-memory cache.
type CacheL1Config struct {
	Type    string `yaml:"type"`     // "memory"
	MaxSize int    `yaml:"max_size"` // default 1000
}

// CacheL2Config is the optional Redis cache; REDIS_URL sets URL and enables it.
type CacheL2Config struct {
	Type    string `yaml:"type"` // "redis"
	URL     string `yaml:"url"`  // redis://[:password@]host:port[/db]; the password is never logged
	Enabled bool   `yaml:"enabled"`
}

// RateLimitConfig is the per-client rate limit (yaml "rate_limiting").
type RateLimitConfig struct {
	Enabled           bool    `yaml:"enabled"`
	RequestsPerSecond float64 `yaml:"requests_per_second"` // default 10
	BurstCapacity     int     `yaml:"burst_capacity"`      // default 100
}

// CircuitBreakerConfig is the breaker in front of the pool (yaml "circuit_breaker").
type CircuitBreakerConfig struct {
	Enabled                bool `yaml:"enabled"`
	FailureThreshold       int  `yaml:"failure_threshold"`        // default 5
	RecoveryTimeoutSeconds int  `yaml:"recovery_timeout_seconds"` // default 30
}

// RecoveryTimeout returns RecoveryTimeoutSeconds as a duration.
func (c CircuitBreakerConfig) RecoveryTimeout() time.Duration {
	return seconds(c.RecoveryTimeoutSeconds)
}

// LoggingConfig is the log output (yaml "logging"). Logs always go to stderr.
type LoggingConfig struct {
	Level      string `yaml:"level"`      // trace|debug|info|notice|warning|error|fatal; default info
	Format     string `yaml:"format"`     // console|json; default console (json when structured is true)
	File       string `yaml:"file"`       // if set, logs are also appended to this file (JSON)
	Structured bool   `yaml:"structured"` // true makes json the default format
}

// MonitoringConfig is health and metrics (yaml "monitoring").
type MonitoringConfig struct {
	PrometheusEnabled bool   `yaml:"prometheus_enabled"`
	PrometheusPort    int    `yaml:"prometheus_port"`   // 0 = /metrics on the main API port
	HealthCheckPath   string `yaml:"health_check_path"` // default /health
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// defaultConfig returns the defaults for mode, the lowest layer of buildConfig.
func defaultConfig(mode string) Config {
	dataDir := "./data"
	if mode == ModeAddon {
		dataDir = "/data"
	}
	return Config{
		Mode:   mode,
		Bridge: BridgeConfig{Host: "0.0.0.0", Port: 3003, IngressPort: 8099, DataDir: dataDir},
		Tools:  ToolsConfig{ConfirmServices: slices.Clone(tools.DefaultConfirmServices)},
		Queue: QueueConfig{MaxSize: 1000, TimeoutSeconds: 30, MaxTimeoutSeconds: 300, PriorityEnabled: true,
			DeduplicationEnabled: true, MaxRetries: 3, InputTimeoutSeconds: 20},
		SessionPool: SessionPoolConfig{MinConnections: 2, MaxConnections: 10, TargetConnections: 5,
			AutoScale: true, HealthCheckIntervalSeconds: 60, IdleTimeoutSeconds: 300, MaxInflightPerSession: 1,
			StatelessConnections: 2},
		Cache: CacheConfig{Enabled: true, DefaultTTLSeconds: 300, MaxSize: 1000, Levels: CacheLevels{
			L1: CacheL1Config{Type: "memory", MaxSize: 1000},
			L2: CacheL2Config{Type: "redis"},
		}},
		RateLimiting:   RateLimitConfig{Enabled: true, RequestsPerSecond: 10, BurstCapacity: 100},
		CircuitBreaker: CircuitBreakerConfig{Enabled: true, FailureThreshold: 5, RecoveryTimeoutSeconds: 30},
		Logging:        LoggingConfig{Level: "info", Format: "console"},
		Monitoring:     MonitoringConfig{PrometheusEnabled: true, HealthCheckPath: "/health"},
		origin:         map[string]string{},
	}
}

// name returns how the user wrote key: the flag, environment variable or
// file key that set it last, or the key path itself.
func (c *Config) name(key string) string {
	if n, ok := c.origin[key]; ok {
		return n
	}
	return key
}

// setOrigin records that source set key.
func (c *Config) setOrigin(key, source string) {
	if c.origin == nil {
		c.origin = map[string]string{}
	}
	c.origin[key] = source
}
