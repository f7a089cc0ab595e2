package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"golang.org/x/tools/txtar"
)

// goldenCall is one step of the answers transcript.
type goldenCall struct {
	name string
	tool string
	args map[string]any
}

// goldenCalls is a typical session against DemoHome; state changes carry
// over from one step to the next.
var goldenCalls = []goldenCall{
	{"lights-on", "get_entities", map[string]any{"domain": "light", "state": "on"}},
	{"living-room-temperatures", "get_entities", map[string]any{"area": "Living Room", "device_class": "temperature"}},
	{"first-page", "get_entities", map[string]any{"limit": 3}},
	{"bad-limit", "get_entities", map[string]any{"limit": "x"}},
	{"climate", "get_entity_state", map[string]any{"entity_id": "climate.living_room"}},
	{"typo", "get_entity_state", map[string]any{"entity_id": "light.kitchen_spot"}},
	{"turn-on", "call_service", map[string]any{"domain": "light", "service": "turn_on", "entity_id": "light.kitchen_spots", "data": map[string]any{"brightness_pct": 40}}},
	{"unlock-unconfirmed", "call_service", map[string]any{"domain": "lock", "service": "unlock", "entity_id": "lock.front_door"}},
	{"unknown-service", "call_service", map[string]any{"domain": "light", "service": "blink", "entity_id": "light.garage"}},
	{"light-services", "get_services", map[string]any{"domain": "light", "service": "turn_on"}},
	{"history", "get_history", map[string]any{"entity_id": "light.kitchen_spots", "start": "-1h"}},
	{"areas", "list_areas", map[string]any{}},
	{"automations", "list_automations", map[string]any{}},
	{"create-automation", "create_automation", map[string]any{"config": automationExampleYAML}},
	{"disable-automation", "toggle_automation", map[string]any{"entity_id": "automation.morning_lights", "enable": false}},
	{"template", "render_template", map[string]any{"template": "{{ states.light | selectattr('state', 'eq', 'on') | list | count }} lights on"}},
}

// ulidRE matches the context ids the fake home generates.
var ulidRE = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{26}\b`)

// normalize makes an answer deterministic: ids are replaced.
func normalize(s string) string { return ulidRE.ReplaceAllString(s, "<ulid>") }

func goldenEnv(t *testing.T) *testEnv {
	now := func() time.Time { return fixedNow }
	return startEnv(t, Config{Now: now}, simhome.Options{Now: now})
}

// TestGoldenTools pins the tool list: names, descriptions, schemas, hints.
func TestGoldenTools(t *testing.T) {
	e := goldenEnv(t)
	res, err := e.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ar := &txtar.Archive{Comment: []byte("The tools of `mcp_bridge_addon stdio` with the default configuration, as tools/list gives them.\nRegenerate with: go test ./src/tools -run TestGolden -update\n")}
	for _, tool := range res.Tools {
		ar.Files = append(ar.Files, txtar.File{Name: tool.Name + ".json", Data: prettyJSON(t, tool)})
	}
	checkGolden(t, "tools.txtar", ar)
}

// TestGoldenAnswers pins typical answers, text and structured.
func TestGoldenAnswers(t *testing.T) {
	e := goldenEnv(t)
	ar := &txtar.Archive{Comment: []byte("A typical session against simhome.DemoHome: each step's call, its text answer and its structured answer.\nRegenerate with: go test ./src/tools -run TestGolden -update\n")}
	for i, c := range goldenCalls {
		res := e.call(t, c.tool, c.args)
		prefix := fmt.Sprintf("%02d-%s", i+1, c.name)
		call := prettyJSON(t, map[string]any{"name": c.tool, "arguments": c.args})
		text := fmt.Sprintf("isError: %v\n%s\n", res.IsError, normalize(textOf(res)))
		ar.Files = append(ar.Files, txtar.File{Name: prefix + ".call.json", Data: call}, txtar.File{Name: prefix + ".text", Data: []byte(text)})
		if res.StructuredContent != nil {
			ar.Files = append(ar.Files, txtar.File{Name: prefix + ".result.json", Data: []byte(normalize(string(prettyJSON(t, res.StructuredContent))))})
		}
	}
	checkGolden(t, "answers.txtar", ar)
}

func prettyJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// checkGolden compares ar with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, ar *txtar.Archive) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got := txtar.Format(ar)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		wa, ga := txtar.Parse(want), txtar.Parse(got)
		t.Errorf("%s differs; run go test ./src/tools -run TestGolden -update and review the diff", path)
		for i := range max(len(wa.Files), len(ga.Files)) {
			var w, g txtar.File
			if i < len(wa.Files) {
				w = wa.Files[i]
			}
			if i < len(ga.Files) {
				g = ga.Files[i]
			}
			if diff := cmp.Diff(w.Name+"\n"+string(w.Data), g.Name+"\n"+string(g.Data)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}
	}
}
