package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/tools"
)

// TestLimitOptions checks that the queue, pool and rate limit options land
// in their sections, and that the YAML file still overrides them.
func TestLimitOptions(t *testing.T) {
	type limits struct {
		QueueMaxSize, MinSessions, MaxSessions, TimeoutSeconds int
		RateEnabled                                            bool
		Rate                                                   float64
	}
	get := func(c *Config) limits {
		return limits{c.Queue.MaxSize, c.SessionPool.MinConnections, c.SessionPool.MaxConnections,
			c.Queue.TimeoutSeconds, c.RateLimiting.Enabled, c.RateLimiting.RequestsPerSecond}
	}
	tests := []struct {
		name string
		s    setup
		want limits
	}{
		{"defaults", setup{}, limits{1000, 2, 10, 30, true, 10}},
		{"options", setup{options: `{"queue_max_size": 50, "pool_min_sessions": 3, "pool_max_sessions": 4,
			"request_timeout_seconds": 90, "rate_limit_per_second": 25}`}, limits{50, 3, 4, 90, true, 25}},
		{"rate 0 turns the limit off", setup{options: `{"rate_limit_per_second": 0}`}, limits{1000, 2, 10, 30, false, 10}},
		{"file over options", setup{options: `{"queue_max_size": 50, "rate_limit_per_second": 0}`,
			yaml: "queue:\n  max_size: 70\nrate_limiting:\n  enabled: true\n"}, limits{70, 2, 10, 30, true, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.env = standalone(nil)
			if diff := cmp.Diff(tt.want, get(mustLoad(t, tt.s))); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultConfirmServices keeps the standalone default equal to the
// tools' and the add-on's, restart and stop of Home Assistant included.
func TestDefaultConfirmServices(t *testing.T) {
	c := mustLoad(t, setup{env: standalone(nil)})
	if diff := cmp.Diff(tools.DefaultConfirmServices, c.Tools.ConfirmServices); diff != "" {
		t.Errorf("confirm_services (-want +got):\n%s", diff)
	}
}

// TestToolsEnvRoundTrip checks that the value serve gives its children
// reproduces its exposure settings exactly, over whatever the child's own
// files say: empty lists stay empty, and a nil confirm list keeps the
// tools' defaults.
func TestToolsEnvRoundTrip(t *testing.T) {
	tests := []ToolsConfig{
		{},
		{ReadOnly: true, AllowedDomains: []string{"light", "input_*"}, BlockedEntities: []string{"lock.*"},
			ConfirmServices: []string{"lock.unlock"}},
		{AllowedDomains: []string{}, BlockedEntities: []string{}, ConfirmServices: []string{}},
		{ConfirmServices: slices.Clone(tools.DefaultConfirmServices)},
	}
	// The child's own options say otherwise on every key.
	childOptions := `{"read_only": true, "allowed_domains": ["switch"], "blocked_entities": ["x.y"], "confirm_services": ["a.b"]}`
	for _, want := range tests {
		value := toolsEnvValue(want)
		t.Run(value, func(t *testing.T) {
			c := mustLoad(t, setup{env: standalone(map[string]string{envTools: value}), options: childOptions})
			got := c.Tools
			if want.ConfirmServices == nil {
				want.ConfirmServices = []string{"a.b"} // left to the child, whose options set it
			}
			nilToEmpty := func(s []string) []string { return append([]string{}, s...) }
			want.AllowedDomains, want.BlockedEntities = nilToEmpty(want.AllowedDomains), nilToEmpty(want.BlockedEntities)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			if origin := c.name("tools.read_only"); origin != "MCP_BRIDGE_TOOLS: read_only" {
				t.Errorf("origin of tools.read_only = %q", origin)
			}
		})
	}
}

// FuzzParseToolsEnv feeds arbitrary values to the $MCP_BRIDGE_TOOLS parser:
// it must never panic, and what it accepts must survive a round trip.
func FuzzParseToolsEnv(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"read_only": true}`, `{"allowed_domains": ["light"], "confirm_services": []}`,
		`{"read_only": "yes"}`, `{"x": 1}`, `{} {}`, `{"blocked_entities": [1]}`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		te, err := parseToolsEnv(v)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("empty error for %q", v)
			}
			return
		}
		var c Config
		te.apply(&c)
		again, err := parseToolsEnv(toolsEnvValue(c.Tools))
		if err != nil {
			t.Fatalf("round trip of %q: %v", v, err)
		}
		var c2 Config
		again.apply(&c2)
		if c.Tools.ConfirmServices == nil {
			c2.Tools.ConfirmServices = nil
		}
		norm := func(s []string) []string { return append([]string{}, s...) }
		for _, pair := range [][2][]string{{c.Tools.AllowedDomains, c2.Tools.AllowedDomains},
			{c.Tools.BlockedEntities, c2.Tools.BlockedEntities}, {c.Tools.ConfirmServices, c2.Tools.ConfirmServices}} {
			if !slices.Equal(norm(pair[0]), norm(pair[1])) {
				t.Fatalf("round trip of %q: %q != %q", v, pair[0], pair[1])
			}
		}
		if c.Tools.ReadOnly != c2.Tools.ReadOnly {
			t.Fatalf("round trip of %q changed read_only", v)
		}
	})
}

// TestToolTimeouts checks the seed's per-tool time limits, their override
// in the YAML file, and the cap on what a caller may ask for.
func TestToolTimeouts(t *testing.T) {
	c := mustLoad(t, setup{env: standalone(nil), yaml: "queue:\n  timeout_seconds: 45\n" +
		"  tool_timeouts_seconds:\n    get_history: 120\n    call_service: 20\n"})
	bc := bridgeConfig(c, nil, zerolog.Nop(), nil)
	got := map[string]time.Duration{}
	for _, tool := range []string{"get_entities", "call_service", "create_automation", "get_history"} {
		got[tool] = bc.Tools[tool].Timeout
	}
	want := map[string]time.Duration{"get_entities": 10 * time.Second, "call_service": 20 * time.Second,
		"create_automation": 60 * time.Second, "get_history": 120 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tool timeouts (-want +got):\n%s", diff)
	}
	if bc.DefaultTimeout != 45*time.Second || bc.MaxTimeout != 300*time.Second {
		t.Errorf("DefaultTimeout, MaxTimeout = %v, %v; want 45s, 5m", bc.DefaultTimeout, bc.MaxTimeout)
	}
	c = mustLoad(t, setup{env: standalone(nil), options: `{"request_timeout_seconds": 600}`})
	if got := bridgeConfig(c, nil, zerolog.Nop(), nil).MaxTimeout; got != 600*time.Second {
		t.Errorf("MaxTimeout with request_timeout_seconds 600 = %v, want 10m", got)
	}
}
