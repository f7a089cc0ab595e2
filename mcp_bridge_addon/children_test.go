package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestChildEnv checks what the pool adds to each child's environment, and
// that a child loading it sees the bridge's Home Assistant and settings.
func TestChildEnv(t *testing.T) {
	tests := []struct {
		name string
		s    setup
		own  bool
		want []string
	}{
		{
			name: "add-on", own: true,
			s: setup{env: map[string]string{envSupervisorToken: "sup-token", envSupervisorURL: "http://sup.local:81"},
				options: `{"read_only": true, "log_level": "debug"}`},
			want: []string{"MCP_BRIDGE_TOKEN=", "HASS_URL=", "HASS_TOKEN=", "SUPERVISOR_URL=http://sup.local:81",
				"SUPERVISOR_TOKEN=sup-token", "MCP_BRIDGE_CONFIG=",
				`MCP_BRIDGE_TOOLS={"allowed_domains":[],"blocked_entities":[],"confirm_services":["lock.unlock","lock.open",` +
					`"alarm_control_panel.alarm_disarm","homeassistant.restart","homeassistant.stop"],"read_only":true}`,
				"MCP_BRIDGE_LOG_LEVEL=debug"},
		},
		{
			name: "standalone from the file, with child env", own: true,
			s: setup{yaml: "home_assistant:\n  url: https://ha.example/\n  token: file-token\ntools:\n  allowed_domains: [light]\n" +
				"  confirm_services: []\nsession_pool:\n  env: {B: 2, A: 1}\n"},
			want: []string{"MCP_BRIDGE_TOKEN=", "HASS_URL=https://ha.example/api", "HASS_TOKEN=file-token", "MCP_BRIDGE_CONFIG=",
				`MCP_BRIDGE_TOOLS={"allowed_domains":["light"],"blocked_entities":[],"confirm_services":[],"read_only":false}`,
				"MCP_BRIDGE_LOG_LEVEL=info", "A=1", "B=2"},
		},
		{
			name: "custom command", own: false,
			s:    setup{env: standalone(map[string]string{envServerCommand: "other-server --flag"}), yaml: "session_pool:\n  env: {X: y}\n"},
			want: []string{"MCP_BRIDGE_TOKEN=", "X=y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.s)
			if _, own, err := childCommand(c); err != nil || own != tt.own {
				t.Fatalf("childCommand: own %v, err %v; want own %v", own, err, tt.own)
			}
			if diff := cmp.Diff(tt.want, childEnv(c, tt.own)); diff != "" {
				t.Errorf("childEnv (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChildSeesParentConfig loads the configuration a child would, from
// its environment alone, and checks that it reaches the same Home
// Assistant with the same exposure settings.
func TestChildSeesParentConfig(t *testing.T) {
	parent := mustLoad(t, setup{
		yaml: "home_assistant:\n  url: http://10.0.0.2:8123\n  token: file-token\n" +
			"tools:\n  read_only: true\n  blocked_entities: [\"lock.*\"]\n",
	})
	env := map[string]string{}
	for _, kv := range childEnv(parent, true) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// The child inherits nothing else here; its options file says otherwise.
	child := mustLoad(t, setup{env: env, options: `{"read_only": false, "blocked_entities": []}`, stdio: true})
	if diff := cmp.Diff(parent.HomeAssistant, child.HomeAssistant); diff != "" {
		t.Errorf("home assistant (-parent +child):\n%s", diff)
	}
	if diff := cmp.Diff(parent.Tools, child.Tools, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("tools (-parent +child):\n%s", diff)
	}
}
