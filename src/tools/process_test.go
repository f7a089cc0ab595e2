package tools

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestProcessHandshake speaks raw JSON-RPC to the binary: every protocol
// version from 2024-11-05 to 2025-11-25 is accepted as asked, and stdout
// carries nothing but protocol lines.
func TestProcessHandshake(t *testing.T) {
	bin := bridgeBinary(t)
	ha := simhome.NewServer(t, simhome.Options{})
	for _, version := range []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			lines := rawSession(t, bin, ha, []string{
				fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, version),
				`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
				`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
				`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_entity_state","arguments":{"entity_id":"sun.sun"}}}`,
			}, 3)
			var init struct {
				Result struct {
					ProtocolVersion string `json:"protocolVersion"`
					ServerInfo      struct{ Name, Version string }
				}
			}
			if err := json.Unmarshal([]byte(lines[0]), &init); err != nil {
				t.Fatalf("initialize answer %q: %v", lines[0], err)
			}
			if init.Result.ProtocolVersion != version || init.Result.ServerInfo.Name != "mcp-bridge" {
				t.Errorf("initialize answered %s", lines[0])
			}
			if !strings.Contains(lines[1], `"name":"get_entities"`) || !strings.Contains(lines[2], "above_horizon") {
				t.Errorf("tools/list or tools/call answer unexpected:\n%s\n%s", truncate(lines[1], 300), truncate(lines[2], 300))
			}
		})
	}
}

// rawSession writes lines to a fresh child, reads want answers, then
// closes stdin and checks that the child exits cleanly and wrote only
// JSON-RPC to stdout.
func rawSession(t *testing.T, bin string, ha *simhome.Server, in []string, want int) []string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, "stdio")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "HASS_URL=" + ha.URL(), "HASS_TOKEN=" + ha.Token(),
		"MCP_BRIDGE_OPTIONS=" + filepath.Join(dir, "absent.json"), "MCP_BRIDGE_DATA=" + dir}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, l := range in {
		io.WriteString(stdin, l+"\n")
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	byID := map[float64]string{}
	for len(byID) < want && sc.Scan() {
		var m struct {
			ID *float64 `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("stdout line is not JSON-RPC: %q", sc.Text())
			continue
		}
		if m.ID != nil {
			byID[*m.ID] = sc.Text()
		}
	}
	stdin.Close()
	for sc.Scan() {
		t.Errorf("unexpected output after the last answer: %q", sc.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child exited with %v after stdin closed\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("child did not exit after stdin closed\n%s", stderr)
	}
	out := make([]string, 0, want)
	for i := 1; i <= want; i++ {
		if byID[float64(i)] == "" {
			t.Fatalf("no answer to request %d\nstderr:\n%s", i, stderr)
		}
		out = append(out, byID[float64(i)])
	}
	return out
}

// TestProcessTools drives every tool of the real binary, with good and bad
// arguments, then a write whose change a following read sees.
func TestProcessTools(t *testing.T) {
	p := startProcess(t, simhome.NewServer(t, simhome.Options{}), "")
	if diff := cmp.Diff(allTools, toolNames(t, p.cs)); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}
	checkToolList(t, p.cs)
	calls := []struct {
		tool    string
		good    map[string]any
		goodHas string
		bad     map[string]any
		badHas  string
	}{
		{"get_entities", map[string]any{"domain": "light", "state": "on"}, "light.office_desk", map[string]any{"limit": -3}, `"limit"`},
		{"get_entity_state", map[string]any{"entity_id": "climate.living_room"}, "hvac_modes", map[string]any{"entity_id": "climate.attic"}, "unknown entity"},
		{"get_services", map[string]any{"domain": "climate"}, "set_temperature", map[string]any{"domian": "climate"}, `unknown argument "domian"`},
		{"get_history", map[string]any{"entity_id": "sensor.outdoor_temperature", "start": "-1h"}, "12.3", map[string]any{"entity_id": "sensor.outdoor_temperature", "end": "tomorrowish"}, `"end"`},
		{"list_areas", map[string]any{}, "living_room", map[string]any{"x": 1}, `unknown argument "x"`},
		{"render_template", map[string]any{"template": "{{ states.light | count }}"}, "8", map[string]any{}, `"template"`},
		{"list_automations", map[string]any{}, "automation.morning_lights", map[string]any{"limit": "all"}, `"limit"`},
		{"toggle_automation", map[string]any{"entity_id": "automation.morning_lights", "enable": false}, "on -> off", map[string]any{"entity_id": "automation.evening"}, "unknown entity"},
		{"create_automation", map[string]any{"config": automationExampleYAML}, "automation.porch_light_at_sunset", map[string]any{"config": "- a\n- b"}, `"config"`},
		{"call_service", map[string]any{"domain": "climate", "service": "set_temperature", "entity_id": "climate.living_room", "data": map[string]any{"temperature": 19}}, "climate.living_room",
			map[string]any{"domain": "climate", "service": "set_temperature", "entity_id": "climate.living_room", "data": map[string]any{"temperature": "warm"}}, "Home Assistant error"},
	}
	for _, c := range calls {
		t.Run(c.tool, func(t *testing.T) {
			if got := wantOK(t, p.call(t, c.tool, c.good)); !strings.Contains(got, c.goodHas) {
				t.Errorf("%s(%v) = %q; want it to mention %q", c.tool, c.good, truncate(got, 400), c.goodHas)
			}
			wantError(t, p.call(t, c.tool, c.bad), c.badHas)
		})
	}
	var st entityStateOut
	decodeOut(t, p.call(t, "get_entity_state", map[string]any{"entity_id": "climate.living_room"}), &st)
	if st.Attributes["temperature"] != 19.0 {
		t.Errorf("after set_temperature, temperature %v; want 19", st.Attributes["temperature"])
	}
}

// TestProcessHomeAssistantOutage stops and restarts Home Assistant under a
// running binary, and drops its connection.
func TestProcessHomeAssistantOutage(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	p := startProcess(t, ha, "")
	wantOK(t, p.call(t, "get_entity_state", map[string]any{"entity_id": "light.garage"}))

	ha.DropConnections()
	res := p.call(t, "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.garage"})
	if res.IsError {
		// The call raced the drop: only a clear connection message is acceptable.
		wantError(t, res, "Home Assistant")
	}
	eventually(t, "the binary to reconnect", func() bool { return ha.Connections() > 0 })
	wantOK(t, p.call(t, "get_entities", map[string]any{"domain": "light"}))

	ha.Stop()
	eventually(t, "calls to fail while Home Assistant is down", func() bool {
		res := p.call(t, "get_entity_state", map[string]any{"entity_id": "light.garage"})
		if res.IsError {
			wantError(t, res, "Home Assistant is unavailable")
		}
		return res.IsError
	})
	if err := ha.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the binary to reconnect", func() bool { return ha.Connections() > 0 && ha.Subscriptions() >= 5 })
	var out callServiceOut
	decodeOut(t, p.call(t, "call_service", map[string]any{"domain": "light", "service": "toggle", "entity_id": "light.garage"}), &out)
	if len(out.Changed) != 1 {
		t.Errorf("toggle after the restart changed %+v", out.Changed)
	}
}

// TestProcessExposure configures the binary through its config file.
func TestProcessExposure(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	t.Run("read only", func(t *testing.T) {
		p := startProcess(t, ha, "tools:\n  read_only: true\n")
		names := toolNames(t, p.cs)
		for _, w := range writeTools {
			if slices.Contains(names, w) {
				t.Errorf("read-only binary lists %s", w)
			}
		}
	})
	t.Run("blocked and confirmed", func(t *testing.T) {
		p := startProcess(t, ha, "tools:\n  blocked_entities: [\"lock.front_door\", \"sensor.*_humidity\"]\n  confirm_services: [\"lock.unlock\"]\n")
		var all getEntitiesOut
		decodeOut(t, p.call(t, "get_entities", map[string]any{"limit": 1000}), &all)
		for _, id := range entityIDsOfRows(all.Entities) {
			if id == "lock.front_door" || strings.HasPrefix(id, "sensor.") && strings.HasSuffix(id, "_humidity") {
				t.Errorf("hidden %s listed", id)
			}
		}
		wantError(t, p.call(t, "get_entity_state", map[string]any{"entity_id": "lock.front_door"}), "unknown entity")
		wantError(t, p.call(t, "call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.garden_gate"}), "needs confirmation")
		var out callServiceOut
		decodeOut(t, p.call(t, "call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.garden_gate", "confirm": true}), &out)
		if len(out.Changed) != 1 || out.Changed[0].State != "unlocked" {
			t.Errorf("confirmed unlock changed %+v", out.Changed)
		}
		if slices.Contains(toolNames(t, p.cs), "render_template") {
			t.Error("render_template listed while entities are hidden")
		}
	})
}
