package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// setup describes one buildConfig run: environment, flags and file contents.
type setup struct {
	env     map[string]string
	args    []string // flags of the serve subcommand
	yaml    string   // written to config.yaml and passed with MCP_BRIDGE_CONFIG if non-empty
	options string   // written to options.json if non-empty
	stdio   bool     // parse the flags of the stdio subcommand instead
}

// load runs buildConfig in a temporary directory. It never reads the
// machine's /data/options.json: MCP_BRIDGE_OPTIONS always points into the
// temporary directory.
func (s setup) load(t *testing.T) (*Config, []string, error) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{envOptions: filepath.Join(dir, "options.json")}
	if s.options != "" {
		writeFile(t, env[envOptions], s.options)
	}
	if s.yaml != "" {
		env[envConfig] = filepath.Join(dir, "config.yaml")
		writeFile(t, env[envConfig], s.yaml)
	}
	for k, v := range s.env {
		env[k] = v
	}
	cmd := "serve"
	if s.stdio {
		cmd = "stdio"
	}
	fv, err := parseFlags(cmd, s.args, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", s.args, err)
	}
	t.Chdir(dir) // names in messages are then "config.yaml" and "options.json"
	env[envOptions] = "options.json"
	if s.yaml != "" {
		env[envConfig] = "config.yaml"
	}
	return buildConfig(loadInput{flags: fv, env: mapEnv(env), requireHA: true})
}

func mapEnv(m map[string]string) environment {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// standalone is the minimal environment of a valid standalone run.
func standalone(extra map[string]string) map[string]string {
	env := map[string]string{envHassURL: "http://ha.local:8123", envHassToken: "ha-token"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func mustLoad(t *testing.T, s setup) *Config {
	t.Helper()
	c, _, err := s.load(t)
	if err != nil {
		t.Fatalf("buildConfig: %v", err)
	}
	return c
}

// TestPrecedence checks flags > environment > YAML file > add-on options >
// defaults, for a key that every layer can set, and that the error names
// follow the winning layer.
func TestPrecedence(t *testing.T) {
	const (
		opt  = `{"log_level": "error"}`
		file = "logging:\n  level: warning\n"
		env  = "trace"
		flag = "debug"
	)
	tests := []struct {
		name                     string
		options, yaml, env, flag bool
		want, wantOrigin         string
	}{
		{name: "defaults", want: "info", wantOrigin: "logging.level"},
		{name: "options over defaults", options: true, want: "error", wantOrigin: "options.json: log_level"},
		{name: "file over options", options: true, yaml: true, want: "warning", wantOrigin: "config.yaml: logging.level"},
		{name: "env over file", options: true, yaml: true, env: true, want: "trace", wantOrigin: envLogLevel},
		{name: "flag over env", options: true, yaml: true, env: true, flag: true, want: "debug", wantOrigin: "--log-level"},
		{name: "flag over options", options: true, flag: true, want: "debug", wantOrigin: "--log-level"},
		{name: "env over options", options: true, env: true, want: "trace", wantOrigin: envLogLevel},
		{name: "file alone", yaml: true, want: "warning", wantOrigin: "config.yaml: logging.level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{env: standalone(nil)}
			if tt.options {
				s.options = opt
			}
			if tt.yaml {
				s.yaml = file
			}
			if tt.env {
				s.env[envLogLevel] = env
			}
			if tt.flag {
				s.args = []string{"--log-level", flag}
			}
			c := mustLoad(t, s)
			if got := c.Logging.Level; got != tt.want {
				t.Errorf("logging.level = %q, want %q", got, tt.want)
			}
			if got := c.name("logging.level"); got != tt.wantOrigin {
				t.Errorf("origin of logging.level = %q, want %q", got, tt.wantOrigin)
			}
		})
	}
}

// TestPrecedenceOtherKeys checks the layers of the port and the API token.
func TestPrecedenceOtherKeys(t *testing.T) {
	tests := []struct {
		name      string
		s         setup
		wantPort  int
		wantToken string
	}{
		{name: "defaults", s: setup{}, wantPort: 3003},
		{name: "options token", s: setup{options: `{"api_token":"from-options-0123456789"}`},
			wantPort: 3003, wantToken: "from-options-0123456789"},
		{name: "file over options", s: setup{options: `{"api_token":"from-options-0123456789"}`,
			yaml: "bridge:\n  port: 4000\n  api_token: from-file-0123456789ab\n"},
			wantPort: 4000, wantToken: "from-file-0123456789ab"},
		{name: "env over file", s: setup{yaml: "bridge:\n  port: 4000\n  api_token: from-file-0123456789ab\n",
			env: map[string]string{envPort: "5000", envToken: "from-env-0123456789abc"}},
			wantPort: 5000, wantToken: "from-env-0123456789abc"},
		{name: "flag over env", s: setup{env: map[string]string{envPort: "5000"}, args: []string{"--port=6000"}},
			wantPort: 6000},
		{name: "empty env value is unset", s: setup{yaml: "bridge:\n  port: 4000\n", env: map[string]string{envPort: ""}},
			wantPort: 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.env = standalone(tt.s.env)
			c := mustLoad(t, tt.s)
			if c.Bridge.Port != tt.wantPort || c.Bridge.APIToken != tt.wantToken {
				t.Errorf("port, token = %d, %q; want %d, %q", c.Bridge.Port, c.Bridge.APIToken, tt.wantPort, tt.wantToken)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, setup{env: standalone(nil)})
	want := defaultConfig(ModeStandalone)
	want.Bridge.DataDir = "./data"
	want.HomeAssistant = HomeAssistantConfig{
		RESTURL: "http://ha.local:8123/api", WebSocketURL: "ws://ha.local:8123/api/websocket", Token: "ha-token",
	}
	want.SessionPool.TargetConnections, want.SessionPool.MaxInflightPerSession = ownTargetSessions, ownMaxInflight
	want.SessionPool.StatelessConnections = 0
	if diff := cmp.Diff(want, *c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestPoolDefaults checks the pool's defaults: few busy children for our
// own stdio child, which serves calls concurrently; one call at a time on
// five children for another server; and the user's values always win.
func TestPoolDefaults(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		env                  map[string]string
		yaml                 string
		wantTarget, wantMax  int
		wantInflight, wantMn int
		wantStateless        int
	}{
		{name: "own child", wantTarget: 2, wantMax: 10, wantInflight: 16, wantMn: 2, wantStateless: 0},
		{name: "custom command", env: map[string]string{envServerCommand: "npx some-server"}, wantTarget: 5, wantMax: 10, wantInflight: 1, wantMn: 2, wantStateless: 2},
		{name: "own child, user's values", yaml: "session_pool:\n  target_connections: 4\n  max_inflight_per_session: 1\n  stateless_connections: 1\n",
			wantTarget: 4, wantMax: 10, wantInflight: 1, wantMn: 2, wantStateless: 1},
		{name: "custom command, user's values", env: map[string]string{envServerCommand: "npx some-server"},
			yaml: "session_pool:\n  target_connections: 3\n  max_inflight_per_session: 8\n  stateless_connections: 0\n", wantTarget: 3, wantMax: 10, wantInflight: 8, wantMn: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := mustLoad(t, setup{env: standalone(tc.env), yaml: tc.yaml}).SessionPool
			if sp.TargetConnections != tc.wantTarget || sp.MaxConnections != tc.wantMax ||
				sp.MaxInflightPerSession != tc.wantInflight || sp.MinConnections != tc.wantMn || sp.StatelessConnections != tc.wantStateless {
				t.Errorf("got target %d, max %d, in flight %d, min %d, stateless %d; want %d, %d, %d, %d, %d", sp.TargetConnections, sp.MaxConnections,
					sp.MaxInflightPerSession, sp.MinConnections, sp.StatelessConnections, tc.wantTarget, tc.wantMax, tc.wantInflight, tc.wantMn, tc.wantStateless)
			}
		})
	}
}

func TestModes(t *testing.T) {
	tests := []struct {
		name    string
		s       setup
		want    HomeAssistantConfig
		mode    string
		dataDir string
	}{
		{
			name: "add-on", s: setup{env: map[string]string{envSupervisorToken: "sup-token"}}, mode: ModeAddon, dataDir: "/data",
			want: HomeAssistantConfig{RESTURL: "http://supervisor/core/api", WebSocketURL: "ws://supervisor/core/websocket", Token: "sup-token"},
		},
		{
			name: "add-on, https supervisor", mode: ModeAddon, dataDir: "/data",
			s:    setup{env: map[string]string{envSupervisorToken: "sup-token", envSupervisorURL: "https://sup.example:8443/"}},
			want: HomeAssistantConfig{RESTURL: "https://sup.example:8443/core/api", WebSocketURL: "wss://sup.example:8443/core/websocket", Token: "sup-token"},
		},
		{
			name: "HASS_URL wins over the supervisor", mode: ModeStandalone, dataDir: "./data",
			s:    setup{env: standalone(map[string]string{envSupervisorToken: "sup-token"})},
			want: HomeAssistantConfig{RESTURL: "http://ha.local:8123/api", WebSocketURL: "ws://ha.local:8123/api/websocket", Token: "ha-token"},
		},
		{
			name: "https, trailing /api/", mode: ModeStandalone, dataDir: "./data",
			s:    setup{env: map[string]string{envHassURL: "https://ha.example.com/api/", envHassToken: "t"}},
			want: HomeAssistantConfig{RESTURL: "https://ha.example.com/api", WebSocketURL: "wss://ha.example.com/api/websocket", Token: "t"},
		},
		{
			name: "from the file", mode: ModeStandalone, dataDir: "./data",
			s:    setup{yaml: "home_assistant:\n  url: http://10.0.0.2:8123\n  token: file-token\n"},
			want: HomeAssistantConfig{RESTURL: "http://10.0.0.2:8123/api", WebSocketURL: "ws://10.0.0.2:8123/api/websocket", Token: "file-token"},
		},
		{
			name: "env token over file token", mode: ModeStandalone, dataDir: "./data",
			s: setup{yaml: "home_assistant:\n  url: http://10.0.0.2:8123\n  token: file-token\n",
				env: map[string]string{envHassToken: "env-token"}},
			want: HomeAssistantConfig{RESTURL: "http://10.0.0.2:8123/api", WebSocketURL: "ws://10.0.0.2:8123/api/websocket", Token: "env-token"},
		},
		{name: "demo", s: setup{args: []string{"--demo"}}, mode: ModeDemo, dataDir: "./data"},
		{name: "demo, stdio", s: setup{args: []string{"--demo"}, stdio: true}, mode: ModeDemo, dataDir: "./data"},
		{
			name: "add-on data override", mode: ModeAddon, dataDir: "/elsewhere",
			s:    setup{env: map[string]string{envSupervisorToken: "s", envData: "/elsewhere"}},
			want: HomeAssistantConfig{RESTURL: "http://supervisor/core/api", WebSocketURL: "ws://supervisor/core/websocket", Token: "s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.s)
			if c.Mode != tt.mode || c.Bridge.DataDir != tt.dataDir {
				t.Errorf("mode, data = %q, %q; want %q, %q", c.Mode, c.Bridge.DataDir, tt.mode, tt.dataDir)
			}
			if diff := cmp.Diff(tt.want, c.HomeAssistant); diff != "" {
				t.Errorf("home assistant (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigErrors checks that each invalid value yields one clear error
// naming the key as the user wrote it, the value and what is allowed.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		s    setup
		want []string // exact lines of the error
	}{
		{"unknown yaml key", setup{env: standalone(nil), yaml: "queue:\n  max_sise: 10\n"},
			[]string{`config.yaml: unknown key "queue.max_sise" (line 2)`}},
		{"unknown yaml section", setup{env: standalone(nil), yaml: "bridge:\n  port: 3003\nqueues: {}\n"},
			[]string{`config.yaml: unknown key "queues" (line 3)`}},
		{"yaml key set twice", setup{env: standalone(nil), yaml: "bridge:\n  port: 1\n  port: 2\n"},
			[]string{`config.yaml: key "bridge.port" is set twice (line 3)`}},
		{"yaml type error", setup{env: standalone(nil), yaml: "queue:\n  max_size: lots\n"},
			[]string{`config.yaml: queue.max_size: "lots" is not a whole number (line 2)`}},
		{"yaml section not a mapping", setup{env: standalone(nil), yaml: "queue: 5\n"},
			[]string{`config.yaml: queue: "5" is not a mapping of keys (line 1)`}},
		{"yaml syntax error", setup{env: standalone(nil), yaml: "queue:\n\tmax_size: 1\n"},
			[]string{`config.yaml: line 2: found character that cannot start any token`}},
		{"env port out of range", setup{env: standalone(map[string]string{envPort: "70000"})},
			[]string{`MCP_BRIDGE_PORT: 70000 is not a valid port (1-65535)`}},
		{"env port not a number", setup{env: standalone(map[string]string{envPort: "http"})},
			[]string{`MCP_BRIDGE_PORT: "http" is not a whole number`}},
		{"flag port out of range", setup{env: standalone(nil), args: []string{"--port", "70000"}},
			[]string{`--port: 70000 is not a valid port (1-65535)`}},
		{"file port out of range", setup{env: standalone(nil), yaml: "bridge:\n  port: 70000\n"},
			[]string{`config.yaml: bridge.port: 70000 is not a valid port (1-65535)`}},
		{"ingress port negative", setup{env: standalone(map[string]string{envIngressPort: "-1"})},
			[]string{`MCP_BRIDGE_INGRESS_PORT: -1 is not a valid port (1-65535, or 0 to disable)`}},
		{"ingress port equals API port", setup{env: standalone(map[string]string{envIngressPort: "3003"})},
			[]string{`MCP_BRIDGE_INGRESS_PORT: 3003 is already the API port (bridge.port)`}},
		{"non-URL HASS_URL", setup{env: standalone(map[string]string{envHassURL: "foo"})},
			[]string{`HASS_URL: "foo" is not an absolute http(s) URL (like http://homeassistant.local:8123)`}},
		{"ws HASS_URL", setup{env: standalone(map[string]string{envHassURL: "ws://ha:8123"})},
			[]string{`HASS_URL: "ws://ha:8123" is not an absolute http(s) URL (like http://homeassistant.local:8123)`}},
		{"missing token", setup{env: map[string]string{envHassURL: "http://ha:8123"}},
			[]string{`HASS_TOKEN: required when HASS_URL is set`}},
		{"missing token in file", setup{yaml: "home_assistant:\n  url: http://ha:8123\n"},
			[]string{`config.yaml: home_assistant.token: required when config.yaml: home_assistant.url is set`}},
		{"bad log level env", setup{env: standalone(map[string]string{envLogLevel: "verbose"})},
			[]string{`MCP_BRIDGE_LOG_LEVEL: "verbose" is not a log level (trace, debug, info, notice, warning, error, fatal)`}},
		{"bad log level flag", setup{env: standalone(nil), args: []string{"--log-level=loud"}},
			[]string{`--log-level: "loud" is not a log level (trace, debug, info, notice, warning, error, fatal)`}},
		{"bad log level option", setup{env: standalone(nil), options: `{"log_level":"chatty"}`},
			[]string{`options.json: log_level: "chatty" is not a log level (trace, debug, info, notice, warning, error, fatal)`}},
		{"bad log format file", setup{env: standalone(nil), yaml: "logging:\n  format: xml\n"},
			[]string{`config.yaml: logging.format: "xml" is not a log format (console, json)`}},
		{"option of the wrong type", setup{env: standalone(nil), options: `{"read_only":"yes"}`},
			[]string{`options.json: read_only: "yes" is not true or false`}},
		{"options not an object", setup{env: standalone(nil), options: `[1]`},
			[]string{`options.json: not a JSON object of options`}},
		{"options not JSON", setup{env: standalone(nil), options: `{"log_level": info}`},
			[]string{`options.json: invalid JSON: invalid character 'i' looking for beginning of value (at byte 15)`}},
		{"short api token", setup{env: standalone(map[string]string{envToken: "short"})},
			[]string{"MCP_BRIDGE_TOKEN: is 5 characters long; use at least 16 (for example the output of `openssl rand -hex 32`)"}},
		{"bad confirm service", setup{env: standalone(nil), options: `{"confirm_services":["unlock"]}`},
			[]string{`options.json: confirm_services: "unlock" is not a service name like lock.unlock`}},
		{"bad glob", setup{env: standalone(nil), options: `{"allowed_domains":["light["]}`},
			[]string{`options.json: allowed_domains: "light[" is not a valid glob pattern (like light or light.kitchen_*)`}},
		{"bad redis url", setup{env: standalone(map[string]string{envRedisURL: "localhost:6379"})},
			[]string{`REDIS_URL: "localhost:6379" is not a redis:// or rediss:// URL`}},
		{"pool bounds", setup{env: standalone(nil), yaml: "session_pool:\n  min_connections: 5\n  max_connections: 2\n"},
			[]string{
				`config.yaml: session_pool.min_connections: 5 is more than config.yaml: session_pool.max_connections (2)`,
			}},
		{"pool target out of range", setup{env: standalone(nil), yaml: "session_pool:\n  target_connections: 12\n"},
			[]string{
				`config.yaml: session_pool.target_connections: 12 is not between session_pool.min_connections (2) and session_pool.max_connections (10)`,
			}},
		{"pool options", setup{env: standalone(nil), options: `{"pool_min_sessions": 8, "pool_max_sessions": 4}`},
			[]string{`options.json: pool_min_sessions: 8 is more than options.json: pool_max_sessions (4)`}},
		{"pool option zero", setup{env: standalone(nil), options: `{"pool_min_sessions": 0}`},
			[]string{`options.json: pool_min_sessions: 0 is not between 1 and 100`}},
		{"queue option too big", setup{env: standalone(nil), options: `{"queue_max_size": 5000000}`},
			[]string{`options.json: queue_max_size: 5000000 is not between 1 and 1000000`}},
		{"timeout above its cap", setup{env: standalone(nil), yaml: "queue:\n  timeout_seconds: 90\n  max_timeout_seconds: 60\n  tool_timeouts_seconds:\n    get_history: 0\n"},
			[]string{
				`config.yaml: queue.timeout_seconds: 90 is more than config.yaml: queue.max_timeout_seconds (60)`,
				`config.yaml: queue.tool_timeouts_seconds.get_history: 0 is not between 1 and 3600`,
			}},
		{"2026-07-28 bounds", setup{env: standalone(nil), yaml: "queue:\n  input_timeout_seconds: 0\nsession_pool:\n  stateless_connections: -1\n"},
			[]string{
				`config.yaml: queue.input_timeout_seconds: 0 is not between 1 and 3600`,
				`config.yaml: session_pool.stateless_connections: -1 is not between 0 and 100`,
			}},
		{"timeout option not a whole number", setup{env: standalone(nil), options: `{"request_timeout_seconds": 2.5}`},
			[]string{`options.json: request_timeout_seconds: 2.5 is not a whole number`}},
		{"negative rate option", setup{env: standalone(nil), options: `{"rate_limit_per_second": -1}`},
			[]string{`options.json: rate_limit_per_second: -1 is not a positive rate (use 0 in rate_limit_per_second, ` +
				`or rate_limiting.enabled: false, to turn the limit off)`}},
		{"prometheus port on the API port", setup{env: standalone(nil), yaml: "monitoring:\n  prometheus_port: 3003\n"},
			[]string{`config.yaml: monitoring.prometheus_port: 3003 is already the API or Ingress port; use 0 to serve /metrics on the API port`}},
		{"bad child env name", setup{env: standalone(nil), yaml: "session_pool:\n  env:\n    \"A=B\": x\n"},
			[]string{`config.yaml: session_pool.env: "A=B" is not an environment variable name`}},
		{"tools env not JSON", setup{env: standalone(map[string]string{envTools: "read_only"})},
			[]string{`MCP_BRIDGE_TOOLS: invalid JSON: invalid character 'r' looking for beginning of value (at byte 1)`}},
		{"tools env unknown key", setup{env: standalone(map[string]string{envTools: `{"readonly": true}`})},
			[]string{`MCP_BRIDGE_TOOLS: unknown field "readonly"; want a JSON object with read_only, allowed_domains, blocked_entities or confirm_services`}},
		{"tools env wrong type", setup{env: standalone(map[string]string{envTools: `{"allowed_domains": "light"}`})},
			[]string{`MCP_BRIDGE_TOOLS: allowed_domains: want a list of strings`}},
		{"tools env bad pattern", setup{env: standalone(map[string]string{envTools: `{"confirm_services": ["unlock"]}`})},
			[]string{`MCP_BRIDGE_TOOLS: confirm_services: "unlock" is not a service name like lock.unlock`}},
		{"no home assistant", setup{},
			[]string{`no Home Assistant configured: set HASS_URL and HASS_TOKEN (or home_assistant.url and home_assistant.token in the config file), or use --demo for a simulated home`}},
		{"demo with HASS_URL", setup{env: standalone(nil), args: []string{"--demo"}},
			[]string{`--demo: cannot be used with HASS_URL; remove one of them`}},
		{"demo in the add-on", setup{env: map[string]string{envSupervisorToken: "s"}, args: []string{"--demo"}},
			[]string{`--demo: not available in add-on mode (SUPERVISOR_TOKEN is set)`}},
		{"all errors at once", setup{env: map[string]string{envHassURL: "foo", envPort: "70000", envLogLevel: "loud"}},
			[]string{
				`HASS_URL: "foo" is not an absolute http(s) URL (like http://homeassistant.local:8123)`,
				`HASS_TOKEN: required when HASS_URL is set`,
				`MCP_BRIDGE_LOG_LEVEL: "loud" is not a log level (trace, debug, info, notice, warning, error, fatal)`,
				`MCP_BRIDGE_PORT: 70000 is not a valid port (1-65535)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := tt.s.load(t)
			if err == nil {
				t.Fatalf("buildConfig succeeded (%+v), want errors %q", c, tt.want)
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	_, warnings, err := setup{env: standalone(nil), options: `{"old_option": 1}`}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != `options.json: ignoring unknown option "old_option"` {
		t.Errorf("warnings = %q, want one about old_option", warnings)
	}
	_, warnings, err = setup{env: map[string]string{envSupervisorToken: "s"}}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no add-on options") {
		t.Errorf("warnings = %q, want one about the missing options file", warnings)
	}
}
