package mcphttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// eras are the protocol versions a client may speak to /mcp: the last with
// sessions, and the stateless one.
var eras = []string{"2025-11-25", "2026-07-28"}

// connect opens a Go SDK client session on /mcp (or /sse with sse).
func connect(t *testing.T, s *stack, version string, sse bool, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	var tr mcp.Transport = &mcp.StreamableClientTransport{Endpoint: s.url + "/mcp", MaxRetries: -1}
	if sse {
		tr = &mcp.SSEClientTransport{Endpoint: s.url + "/sse"}
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, opts)
	cs, err := c.Connect(testContext(t), tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connecting (%s, sse=%v): %v", version, sse, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestToolsEveryTransport lists and calls tools over Streamable HTTP in
// both eras and over SSE.
func TestToolsEveryTransport(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, tc := range []struct {
		name    string
		version string
		sse     bool
	}{{"streamable-2025", "2025-11-25", false}, {"streamable-2026", "2026-07-28", false}, {"sse", "2024-11-05", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cs := connect(t, s, tc.version, tc.sse, nil)
			ctx := testContext(t)
			l, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Tools) < 10 {
				t.Fatalf("got %d tools; want the everything server's (more than 10)", len(l.Tools))
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
			if err != nil {
				t.Fatal(err)
			}
			if got := text(t, res); !strings.Contains(got, "simple text") {
				t.Errorf("test_simple_text answered %q", got)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_error_handling"})
			if err != nil || !res.IsError {
				t.Errorf("test_error_handling: err %v, isError %v; want a tool error", err, res != nil && res.IsError)
			}
			if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool"}); err == nil {
				t.Error("an unknown tool was called without error")
			}
		})
	}
}

// TestSchemasByteForByte checks that a tool's schema reaches the client
// as the child wrote it: same keys, same order.
func TestSchemasByteForByte(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := testContext(t)
	l, err := s.bridge.ListTools(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, raw := range l.Tools {
		var tool struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		}
		json.Unmarshal(raw, &tool)
		want[tool.Name] = compact(t, tool.InputSchema)
	}
	sid := initialize(t, s, "2025-11-25", nil)
	body := post(t, s, sid, "2025-11-25", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	var res struct {
		Result struct {
			Tools []struct {
				Name        string          `json:"name"`
				InputSchema json.RawMessage `json:"inputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("tools/list answer %s: %v", body, err)
	}
	if len(res.Result.Tools) != len(want) {
		t.Fatalf("got %d tools, the child has %d", len(res.Result.Tools), len(want))
	}
	for _, tool := range res.Result.Tools {
		if got := compact(t, tool.InputSchema); got != want[tool.Name] {
			t.Errorf("%s: schema changed on the way\n got %s\nwant %s", tool.Name, got, want[tool.Name])
		}
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestProgressAndLogs checks that a call's progress and log messages reach
// its client.
func TestProgressAndLogs(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, version := range eras {
		t.Run(version, func(t *testing.T) {
			var mu sync.Mutex
			var progress []float64
			var logs []string
			cs := connect(t, s, version, false, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
					mu.Lock()
					defer mu.Unlock()
					progress = append(progress, r.Params.Progress)
				},
				LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
					mu.Lock()
					defer mu.Unlock()
					logs = append(logs, fmt.Sprint(r.Params.Data))
				},
			})
			ctx := testContext(t)
			params := &mcp.CallToolParams{Name: "test_tool_with_progress"}
			params.SetProgressToken("tok-1")
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Fatal(err)
			}
			// The client may handle the last message after the result.
			waitLen(ctx, t, &mu, func() int { return len(progress) }, 3, "progress notifications")
			if progress[2] != 100 {
				t.Errorf("progress notifications %v; want 0, 50, 100", progress)
			}
			if version < "2026" {
				if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
					t.Fatal(err)
				}
				if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_tool_with_logging"}); err != nil {
					t.Fatal(err)
				}
				waitLen(ctx, t, &mu, func() int { return len(logs) }, 3, "log messages")
			}
		})
	}
}

// waitLen waits until n(), read under mu, is want, and fails the test if
// it goes past want or ctx ends first.
func waitLen(ctx context.Context, t *testing.T, mu *sync.Mutex, n func() int, want int, what string) {
	t.Helper()
	for {
		mu.Lock()
		got := n()
		mu.Unlock()
		switch {
		case got == want:
			return
		case got > want || ctx.Err() != nil:
			t.Fatalf("%d %s; want %d", got, what, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSamplingReachesTheCaller runs sampling calls from several clients at
// once, on children that serve several calls at a time: each client must
// answer its own child requests, never another's. The children are kept in
// the handshake era, where they ask by request in both eras (a child in
// the 2026-07-28 protocol may not, and its test_sampling fails there).
func TestSamplingReachesTheCaller(t *testing.T) {
	s := newStack(t, stackOptions{children: 2, inflight: 4, handshakeOnly: true})
	for _, version := range eras {
		t.Run(version, func(t *testing.T) {
			const clients, calls = 4, 5
			var wg sync.WaitGroup
			errs := make(chan error, clients*calls)
			for i := range clients {
				name := fmt.Sprintf("client-%d", i)
				cs := connect(t, s, version, false, &mcp.ClientOptions{
					CreateMessageHandler: func(_ context.Context, r *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
						return &mcp.CreateMessageResult{Model: "test", Role: "assistant", Content: &mcp.TextContent{Text: "answer of " + name}}, nil
					},
				})
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range calls {
						res, err := cs.CallTool(testContext(t), &mcp.CallToolParams{
							Name: "test_sampling", Arguments: map[string]any{"prompt": fmt.Sprintf("q%d", j)}})
						if err != nil {
							errs <- fmt.Errorf("%s: %w", name, err)
							continue
						}
						if got := text(t, res); !strings.Contains(got, "answer of "+name) {
							errs <- fmt.Errorf("%s got %q", name, got)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestResourcesPromptsCompletion relays the rest of a child's features.
func TestResourcesPromptsCompletion(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, version := range eras {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, s, version, false, nil)
			ctx := testContext(t)
			rl, err := cs.ListResources(ctx, nil)
			if err != nil || len(rl.Resources) == 0 {
				t.Fatalf("resources/list: %v, %d resources", err, len(rl.Resources))
			}
			rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://static-text"})
			if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text == "" {
				t.Fatalf("resources/read: %v %+v", err, rr)
			}
			rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://template/42/data"})
			if err != nil || !strings.Contains(rr.Contents[0].Text, "42") {
				t.Fatalf("templated resources/read: %v %+v", err, rr)
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://nothing-here"}); err == nil {
				t.Error("reading a resource that does not exist did not fail")
			}
			pl, err := cs.ListPrompts(ctx, nil)
			if err != nil || len(pl.Prompts) == 0 {
				t.Fatalf("prompts/list: %v", err)
			}
			gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "test_prompt_with_arguments", Arguments: map[string]string{"arg1": "A1", "arg2": "B2"}})
			if err != nil || len(gp.Messages) == 0 {
				t.Fatalf("prompts/get: %v", err)
			}
			if got := fmt.Sprint(gp.Messages[0].Content.(*mcp.TextContent).Text); !strings.Contains(got, "A1") {
				t.Errorf("prompt text %q lacks the argument", got)
			}
			cr, err := cs.Complete(ctx, &mcp.CompleteParams{
				Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"},
				Argument: mcp.CompleteParamsArgument{Name: "arg1", Value: "a"},
			})
			if err != nil || cr == nil {
				t.Fatalf("completion/complete: %v", err)
			}
		})
	}
}

// TestMultiRoundTrip answers the elicitation request of a child in the
// handshake era through the 2026-07-28 input_required flow, which the Go
// SDK client drives by itself: the bridge holds the child's request.
func TestMultiRoundTrip(t *testing.T) {
	s := newStack(t, stackOptions{handshakeOnly: true})
	cs := connect(t, s, "2026-07-28", false, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"username": "alice", "email": "a@example.com"}}, nil
		},
	})
	res, err := cs.CallTool(testContext(t), &mcp.CallToolParams{Name: "test_elicitation", Arguments: map[string]any{"message": "who?"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, res); !strings.Contains(got, "accept") {
		t.Errorf("test_elicitation answered %q; want the accepted elicitation", got)
	}
}

// TestChildsOwnInputRequired passes a 2026-07-28 client the child's own
// input_required result, with the child's name for its request, and the
// client's answers back to the child: the call runs on a child spoken to
// in the same protocol.
func TestChildsOwnInputRequired(t *testing.T) {
	s := newStack(t, stackOptions{})
	headers := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "test_input_required_result_elicitation"}
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}}}}`
	body := post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_input_required_result_elicitation","arguments":{},`+meta+`}}`, headers)
	var res struct {
		Result struct {
			ResultType    string                     `json:"resultType"`
			InputRequests map[string]json.RawMessage `json:"inputRequests"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Result.ResultType != "input_required" || res.Result.InputRequests["user_name"] == nil {
		t.Fatalf("the first call answered %s (%v); want input_required naming the child's user_name", body, err)
	}
	body = post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_input_required_result_elicitation","arguments":{},`+
		`"inputResponses":{"user_name":{"action":"accept","content":{"name":"Ada"}}},`+meta+`}}`, headers)
	if !bytes.Contains(body, []byte("Hello, Ada!")) || !bytes.Contains(body, []byte(`"resultType":"complete"`)) {
		t.Errorf("the retry answered %s; want the child's greeting", body)
	}
}

// TestTamperedRequestState refuses a requestState the bridge never made.
func TestTamperedRequestState(t *testing.T) {
	s := newStack(t, stackOptions{})
	body := post(t, s, "", "2026-07-28", modernCall(1, "test_simple_text", `,"requestState":"mcp-bridge-FORGED"`), map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "test_simple_text"})
	if !bytes.Contains(body, []byte(`"code":-32602`)) {
		t.Errorf("a forged requestState got %s; want -32602", body)
	}
}

// TestToolListChanged tells a session's client when a child's tools change.
func TestToolListChanged(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	changed := make(chan struct{}, 1)
	cs := connect(t, s, "2025-11-25", false, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	ctx := testContext(t)
	before, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_trigger_tool_change"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no notifications/tools/list_changed reached the client")
	}
	after, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Tools) == len(before.Tools) {
		t.Errorf("the tool list has %d tools before and after the change", len(after.Tools))
	}
}

// TestSubscription passes a child's resources/updated to the subscriber.
func TestSubscription(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	updated := make(chan string, 1)
	cs := connect(t, s, "2025-11-25", false, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			select {
			case updated <- r.Params.URI:
			default:
			}
		},
	})
	ctx := testContext(t)
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "test://watched-resource"}); err != nil {
		t.Fatal(err)
	}
	select { // the everything server updates it every 3 seconds
	case uri := <-updated:
		if uri != "test://watched-resource" {
			t.Errorf("update for %q", uri)
		}
	case <-ctx.Done():
		t.Fatal("no resources/updated reached the subscriber")
	}
	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: "test://watched-resource"}); err != nil {
		t.Fatal(err)
	}
}

// TestCancellationReachesChild stops a call in the child when its client
// cancels it: with notifications/cancelled in the session era, by closing
// the request's stream in the 2026-07-28 era.
func TestCancellationReachesChild(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events})
	for i, version := range eras {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, s, version, false, nil)
			ctx, cancel := context.WithCancel(testContext(t))
			note := fmt.Sprintf("cancel-me-%d", i)
			done := make(chan error, 1)
			go func() {
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow_read", Arguments: map[string]any{"ms": 60000, "note": note}})
				done <- err
			}()
			waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == note })
			cancel()
			if err := <-done; err == nil {
				t.Fatal("a cancelled call succeeded")
			}
			waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Tool == "slow_read" && e.Note == note })
		})
	}
}

// waitEvent waits until the children recorded an event that matches, for
// up to 10 s: well under the bridge's 30 s call timeout, so that a
// cancellation that did not happen is not mistaken for the timeout's.
func waitEvent(t *testing.T, path string, match func(pooltest.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		evs, err := pooltest.ReadEvents(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if match(e) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the expected child event never came")
}

// TestCacheOverMCP gives MCP clients the bridge's facts in the result's
// _meta, as the REST API does, and the REST API's cache control through
// _meta. (Whether an answer is cached is src/cache's to test: answers
// without a view time, like this child's, are kept only once Home
// Assistant's events have settled.)
func TestCacheOverMCP(t *testing.T) {
	s := newStack(t, stackOptions{cached: "test_simple_text"})
	cs := connect(t, s, "2025-11-25", false, nil)
	ctx := testContext(t)
	call := func(control any) (*mcp.CallToolResult, error) {
		p := &mcp.CallToolParams{Name: "test_simple_text"}
		if control != nil {
			p.Meta = mcp.Meta{"io.github.mcp-bridge/cache_control": control}
		}
		return cs.CallTool(ctx, p)
	}
	for i, control := range []any{nil, nil, "max-age=60", "no-cache"} {
		res, err := call(control)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		cached, ok := res.Meta["io.github.mcp-bridge/cached"].(bool)
		if !ok || res.Meta["io.github.mcp-bridge/kind"] != "read" {
			t.Errorf("call %d: _meta %v; want the bridge's facts", i, res.Meta)
		}
		if control == "no-cache" && cached {
			t.Errorf("call %d with no-cache was answered from the cache", i)
		}
	}
	for _, bad := range []any{"max-age=soon", 42} {
		if _, err := call(bad); err == nil || !strings.Contains(err.Error(), "cache_control") {
			t.Errorf("cache control %v: %v; want an error naming it", bad, err)
		}
	}
}

// TestPromptListChangedFromStatelessChild tells a 2026-07-28 client's
// subscriptions/listen stream that the prompts changed when its call ran
// on a child spoken to in that protocol, which sends list changes only on
// a subscriptions/listen request of the bridge's.
func TestPromptListChangedFromStatelessChild(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	changed := make(chan struct{}, 1)
	cs := connect(t, s, "2026-07-28", false, &mcp.ClientOptions{
		PromptListChangedHandler: func(context.Context, *mcp.PromptListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	ctx := testContext(t)
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_trigger_prompt_change"}); err != nil {
		t.Fatal(err)
	}
	if st := s.pool.Stats(); st.Total != 2 {
		t.Errorf("the pool has %d children; want 2 (the call ran on a stateless child)", st.Total)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no notifications/prompts/list_changed reached the client")
	}
}

// TestSubscriptionSurvivesRestart subscribes a restarted child again to
// what the child before it held, so that a subscriber's resources/updated
// keep coming after a crash.
func TestSubscriptionSurvivesRestart(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events})
	updated := make(chan string, 10)
	cs := connect(t, s, "2025-11-25", false, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			updated <- r.Params.URI
		},
	})
	ctx := testContext(t)
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: pooltest.WatchedURI}); err != nil {
		t.Fatal(err)
	}
	touch := func(when string) {
		t.Helper()
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "touch"}); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		select {
		case uri := <-updated:
			if uri != pooltest.WatchedURI {
				t.Errorf("%s: an update for %q", when, uri)
			}
		case <-wait.Done():
			t.Fatalf("%s: no resources/updated reached the subscriber", when)
		}
	}
	touch("before the crash")
	first := 0
	waitEvent(t, events, func(e pooltest.Event) bool { first = e.Pid; return e.Kind == "subscribed" })
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "crash"}); err == nil {
		t.Fatal("the crash tool answered")
	}
	waitEvent(t, events, func(e pooltest.Event) bool {
		return e.Kind == "subscribed" && e.Note == pooltest.WatchedURI && e.Pid != first
	})
	touch("after the restart")
	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: pooltest.WatchedURI}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "unsubscribed" && e.Pid != first })
}

// TestParkedCallExpires cancels, in its child, a call parked for a
// 2026-07-28 client's input that never comes, after InputTimeout: the
// child is free again, and a late retry learns why its requestState no
// longer works.
func TestParkedCallExpires(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events, handshakeOnly: true,
		cfg: mcphttp.Config{InputTimeout: 300 * time.Millisecond}})
	headers := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "ask_name"}
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}}}}`
	body := post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask_name","arguments":{},`+meta+`}}`, headers)
	var res struct {
		Result struct {
			ResultType    string                     `json:"resultType"`
			RequestState  string                     `json:"requestState"`
			InputRequests map[string]json.RawMessage `json:"inputRequests"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Result.ResultType != "input_required" || len(res.Result.InputRequests) != 1 {
		t.Fatalf("ask_name answered %s (%v); want input_required", body, err)
	}
	var key string
	for key = range res.Result.InputRequests {
	}
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "cancel_notification" })

	retry := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask_name","arguments":{},"requestState":%q,`+
		`"inputResponses":{%q:{"action":"accept","content":{"name":"Ada"}}},`+meta+`}}`, res.Result.RequestState, key)
	body = post(t, s, "", "2026-07-28", retry, headers)
	if !bytes.Contains(body, []byte(`"code":-32602`)) || !bytes.Contains(body, []byte("requestState expired")) {
		t.Errorf("a retry after the input timeout answered %s; want -32602 saying the requestState expired", body)
	}
	for _, e := range pooltest.Filter(mustEvents(t, events), func(e pooltest.Event) bool { return e.Kind == "answered" }) {
		t.Errorf("the expired call was answered in the child: %+v", e)
	}

	cs := connect(t, s, "2025-11-25", false, nil)
	ctx, cancel := context.WithTimeout(testContext(t), 5*time.Second) // well under the 30 s call timeout
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"after": "expiry"}}); err != nil {
		t.Errorf("the one child is still busy after the parked call expired: %v", err)
	}
}

func mustEvents(t *testing.T, path string) []pooltest.Event {
	t.Helper()
	evs, err := pooltest.ReadEvents(path)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
