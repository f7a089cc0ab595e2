package tools

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of golden tests, for the fake home and the tools.
var fixedNow = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	cleanupBinary()
	os.Exit(code)
}

// testEnv is the tools served in-process over in-memory transports to an
// SDK client, against a fake Home Assistant.
type testEnv struct {
	ha     *simhome.Server
	client *hass.Client
	tools  *Tools
	cs     *mcp.ClientSession

	mu      sync.Mutex
	schemas map[string]*jsonschema.Resolved // output schemas by tool
}

// startEnv starts a fake home, a hass client, the tools with a running
// index and an MCP client session; everything stops when the test ends.
func startEnv(t testing.TB, cfg Config, opts simhome.Options) *testEnv {
	t.Helper()
	ha := simhome.NewServer(t, opts)
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("hass.New: %v", err)
	}
	return connectEnv(t, ha, hc, hc, cfg)
}

// connectEnv serves tools over ha (which may wrap hc) to a client session.
func connectEnv(t testing.TB, srv *simhome.Server, hc *hass.Client, ha HomeAssistant, cfg Config) *testEnv {
	t.Helper()
	tl, err := New(cfg, ha)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = hc.Run(ctx) })
	wg.Go(func() {
		if err := tl.Run(ctx); err != nil {
			t.Errorf("Tools.Run: %v", err)
		}
	})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := tl.Server().Connect(ctx, st, nil)
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("server Connect: %v", err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("client Connect: %v", err)
	}
	t.Cleanup(func() {
		cs.Close()
		_ = ss.Wait()
		cancel()
		wg.Wait()
	})
	return &testEnv{ha: srv, client: hc, tools: tl, cs: cs}
}

// call calls a tool; a successful answer's structured content is checked
// against the tool's output schema.
func (e *testEnv) call(t testing.TB, name string, args any) *mcp.CallToolResult {
	t.Helper()
	return callTool(t, e.cs, name, args, e.outputSchema)
}

func callTool(t testing.TB, cs *mcp.ClientSession, name string, args any, schema func(testing.TB, string) *jsonschema.Resolved) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): protocol error: %v", name, args, err)
	}
	if len(res.Content) == 0 {
		t.Fatalf("%s(%v): no content", name, args)
	}
	if !res.IsError {
		if res.StructuredContent == nil {
			t.Fatalf("%s(%v): no structured content", name, args)
		}
		if err := schema(t, name).Validate(remarshal(t, res.StructuredContent)); err != nil {
			t.Fatalf("%s(%v): structured content does not match the output schema: %v", name, args, err)
		}
	}
	return res
}

func (e *testEnv) outputSchema(t testing.TB, name string) *jsonschema.Resolved {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.schemas == nil {
		e.schemas = listOutputSchemas(t, e.cs)
	}
	r, ok := e.schemas[name]
	if !ok {
		t.Fatalf("tool %s is not listed", name)
	}
	return r
}

func listOutputSchemas(t testing.TB, cs *mcp.ClientSession) map[string]*jsonschema.Resolved {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	out := map[string]*jsonschema.Resolved{}
	for _, tool := range res.Tools {
		var s jsonschema.Schema
		b, _ := json.Marshal(tool.OutputSchema)
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: output schema: %v", tool.Name, err)
		}
		r, err := s.Resolve(nil)
		if err != nil {
			t.Fatalf("%s: resolving output schema: %v", tool.Name, err)
		}
		out[tool.Name] = r
	}
	return out
}

// remarshal turns a value into plain JSON values (map[string]any...).
func remarshal(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

// decodeOut decodes a result's structured content into dst.
func decodeOut(t testing.TB, res *mcp.CallToolResult, dst any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool failed: %s", textOf(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, dst); err != nil {
		t.Fatalf("decoding structured content: %v\n%s", err, b)
	}
}

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// wantOK fails unless res succeeded, and returns its text.
func wantOK(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if res.IsError {
		t.Fatalf("got error %q, want success", textOf(res))
	}
	return textOf(res)
}

// wantError fails unless res is a tool error containing every fragment.
func wantError(t testing.TB, res *mcp.CallToolResult, fragments ...string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("got success %q, want an error containing %q", truncate(textOf(res), 300), fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(textOf(res), f) {
			t.Errorf("error %q does not contain %q", textOf(res), f)
		}
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func entityIDsOfRows(rows []entityRow) []string {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.EntityID)
	}
	return ids
}

func fmtArgs(args any) string {
	b, _ := json.Marshal(args)
	return string(b)
}
