package tools

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var sizesOut = flag.String("sizes", "", "write the answer size table (markdown) to this file")

// question is one thing a model asks, as get_entities arguments.
type question struct {
	what string
	args map[string]any
}

var demoQuestions = []question{
	{"lights that are on", map[string]any{"domain": "light", "state": "on"}},
	{"temperature sensors in the living room", map[string]any{"domain": "sensor", "device_class": "temperature", "area": "living_room"}},
	{"everything in the kitchen", map[string]any{"area": "kitchen"}},
	{"all entities (first page)", map[string]any{}},
}

var largeQuestions = []question{
	{"lights that are on", map[string]any{"domain": "light", "state": "on"}},
	{"temperature sensors in one area", map[string]any{"domain": "sensor", "device_class": "temperature", "area": "area_02"}},
	{"everything in one area", map[string]any{"area": "area_07"}},
	{"search \"motion 0012\"", map[string]any{"search": "motion 0012"}},
	{"all entities (first page)", map[string]any{}},
}

// BenchmarkGetEntities measures get_entities on 10 000 entities through
// the whole MCP path (in-memory transport), with the event-fed index and
// with a fresh read of Home Assistant per call.
func BenchmarkGetEntities(b *testing.B) {
	for _, mode := range []string{"index", "fetch-per-call"} {
		b.Run(mode, func(b *testing.B) {
			cs := benchSession(b, mode == "index")
			for _, q := range largeQuestions {
				b.Run(strings.ReplaceAll(q.what, " ", "_"), func(b *testing.B) {
					var size int
					for b.Loop() {
						res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_entities", Arguments: q.args})
						if err != nil || res.IsError {
							b.Fatalf("get_entities: %v %v", err, res)
						}
						size = answerSize(res)
					}
					b.ReportMetric(float64(size), "bytes/answer")
				})
			}
		})
	}
}

// benchSession serves LargeHome(10000) with or without a running index.
func benchSession(b *testing.B, index bool) *mcp.ClientSession {
	ha := simhome.NewServer(b, simhome.Options{Home: simhome.LargeHome(10000)})
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token()})
	if err != nil {
		b.Fatal(err)
	}
	if index {
		return connectEnv(b, ha, hc, hc, Config{}).cs
	}
	tl, err := New(Config{}, hc) // no Run: every call loads the home
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hc.Run(ctx) }()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := tl.Server().Connect(ctx, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close(); _ = ss.Wait(); cancel(); <-done })
	return cs
}

// answerSize is what the model receives: text plus structured content.
func answerSize(res *mcp.CallToolResult) int {
	b, _ := json.Marshal(res.StructuredContent)
	return len(textOf(res)) + len(b)
}

// TestAnswerSizes compares get_entities answers with Home Assistant's raw
// state JSON for the same questions, and writes the table with -sizes.
func TestAnswerSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 10 000-entity home")
	}
	var rows []string
	for _, h := range []struct {
		name      string
		home      *simhome.Home
		questions []question
	}{{"DemoHome (49 entities)", simhome.DemoHome(), demoQuestions}, {"LargeHome(10000)", simhome.LargeHome(10000), largeQuestions}} {
		e := startEnv(t, Config{}, simhome.Options{Home: h.home})
		raw := rawStates(t, e.client)
		total := 2
		for _, r := range raw {
			total += len(r) + 1
		}
		for _, q := range h.questions {
			res := e.call(t, "get_entities", q.args)
			var out getEntitiesOut
			decodeOut(t, res, &out)
			matching := 2
			for _, id := range allMatches(t, e, q.args) {
				matching += len(raw[id]) + 1
			}
			ours := answerSize(res)
			if ours > matching && out.Total > 3 || ours > total {
				t.Errorf("%s, %s: our answer %d bytes, raw matching %d, raw all %d", h.name, q.what, ours, matching, total)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %d of %d | %s | %s | %s |", h.name, q.what, out.Count, out.Total,
				kib(ours), kib(matching), kib(total)))
		}
	}
	table := "| Home | Question (get_entities) | Rows returned / matching | Our answer (text + structured) | HA JSON of the matching states | HA `/api/states` (whole home) |\n" +
		"|---|---|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
	t.Logf("\n%s", table)
	if *sizesOut != "" {
		if err := os.WriteFile(*sizesOut, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func kib(n int) string {
	if n < 10*1024 {
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/1024)
}

// rawStates reads /api/states, each state's JSON by entity id.
func rawStates(t *testing.T, hc *hass.Client) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var list []json.RawMessage
	if err := hc.REST(ctx, "GET", "/states", nil, &list); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]json.RawMessage, len(list))
	for _, r := range list {
		var s struct {
			EntityID string `json:"entity_id"`
		}
		if err := json.Unmarshal(r, &s); err != nil {
			t.Fatal(err)
		}
		out[s.EntityID] = r
	}
	return out
}

// allMatches pages through get_entities for every matching entity id.
func allMatches(t *testing.T, e *testEnv, args map[string]any) []string {
	t.Helper()
	var ids []string
	for offset := 0; ; {
		a := map[string]any{"limit": 1000, "offset": offset}
		for k, v := range args {
			a[k] = v
		}
		var out getEntitiesOut
		decodeOut(t, e.call(t, "get_entities", a), &out)
		ids = append(ids, entityIDsOfRows(out.Entities)...)
		if out.NextOffset == 0 {
			return ids
		}
		offset = out.NextOffset
	}
}
