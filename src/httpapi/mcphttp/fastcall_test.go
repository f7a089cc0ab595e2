package mcphttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// answer is what a client gets for one POST: status, the JSON-RPC message
// (from a JSON body or the event stream's last message) with the bridge's
// timings zeroed, since two calls need not take the same milliseconds.
type answer struct {
	status int
	msg    string
}

var timings = regexp.MustCompile(`("io\.github\.mcp-bridge/(?:queue_wait_ms|duration_ms)":)\d+`)

func postAnswer(t *testing.T, s *stack, sid, body string, headers map[string]string) (answer, string) {
	t.Helper()
	resp := do(t, s, http.MethodPost, sid, "2025-11-25", body, headers)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	ctype := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ctype, "text/event-stream") {
		var last []byte
		for _, line := range strings.Split(string(data), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok && strings.TrimSpace(d) != "" {
				last = []byte(d)
			}
		}
		data = last
	}
	return answer{resp.StatusCode, string(timings.ReplaceAll(bytes.TrimSpace(data), []byte("${1}0")))}, ctype
}

// fastCase is one POST to a session, answered by the fast path or not.
type fastCase struct {
	name    string
	body    string
	headers map[string]string
	fast    bool   // the fast path answers it
	want    string // in the answer
}

// checkSame posts each case with the fast path on, then off, and wants the
// same JSON-RPC answer, from the path each case names.
func checkSame(t *testing.T, s *stack, sid string, cases []fastCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := mcphttp.FastCalls(s.handler)
			fast, ctype := postAnswer(t, s, sid, tc.body, tc.headers)
			if got := mcphttp.FastCalls(s.handler) - before; got != map[bool]int64{true: 1, false: 0}[tc.fast] {
				t.Errorf("fast path answered %d calls; want fast=%v", got, tc.fast)
			}
			if tc.fast && ctype != "application/json" {
				t.Errorf("fast answer's Content-Type %q; want application/json", ctype)
			}
			mcphttp.SetFastPath(s.handler, false)
			defer mcphttp.SetFastPath(s.handler, true)
			slow, _ := postAnswer(t, s, sid, tc.body, tc.headers)
			if fast.status != slow.status || !sameAnswer(fast.msg, slow.msg) {
				t.Errorf("answers differ:\nfast path: %d %s\nSDK:       %d %s", fast.status, fast.msg, slow.status, slow.msg)
			}
			if !strings.Contains(fast.msg, tc.want) {
				t.Errorf("answer %d %s lacks %s", fast.status, fast.msg, tc.want)
			}
		})
	}
}

// sameAnswer reports whether the fast path's answer fast means what the
// SDK's answer slow means. A result of text content only, which the fast
// path sends as the child wrote it, must be the same JSON value, an
// "isError":false counting as absent (the SDK leaves it out); every other
// answer must be the same bytes.
func sameAnswer(fast, slow string) bool {
	if fast == slow {
		return true
	}
	a, okA := textAnswer(fast)
	b, okB := textAnswer(slow)
	return okA && okB && cmp.Equal(a, b)
}

// textAnswer decodes a JSON-RPC answer whose result has text content only.
func textAnswer(msg string) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(msg), &m) != nil {
		return nil, false
	}
	res, ok := m["result"].(map[string]any)
	if !ok {
		return nil, false
	}
	items, ok := res["content"].([]any)
	if !ok {
		return nil, false
	}
	for _, it := range items {
		if c, _ := it.(map[string]any); c["type"] != "text" {
			return nil, false
		}
	}
	if res["isError"] == false {
		delete(res, "isError")
	}
	return m, true
}

func call(id, params string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":` + params + `}`
}

// TestFastPathSameAnswers answers plain tools/calls on the request's
// goroutine exactly as the SDK's path does, and leaves every other request
// to the SDK.
func TestFastPathSameAnswers(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	user := func(r *http.Request) string { return r.Header.Get("X-Test-User") }
	s := newStack(t, stackOptions{children: 1, events: events, cfg: mcphttp.Config{Identity: user}})
	alice := map[string]string{"X-Test-User": "alice"}
	sid := initialize(t, s, "2025-11-25", alice)
	checkSame(t, s, sid, []fastCase{
		{"success", call("1", `{"name":"echo","arguments":{"a":"<b>&é\u2028"}}`), alice, true, `"structuredContent":{"a":`},
		{"string id", call(`"x-1"`, `{"name":"echo","arguments":{}}`), alice, true, `"id":"x-1"`},
		{"no arguments", call("2", `{"name":"echo"}`), alice, true, `"result"`},
		{"own _meta", call("3", `{"name":"echo","arguments":{"n":1},"_meta":{"note":"x","io.github.mcp-bridge/cache_control":"no-cache"}}`), alice, true, `"result"`},
		{"tool error", call("4", `{"name":"fail","arguments":{}}`), alice, true, `"isError":true`},
		{"unknown tool", call("5", `{"name":"no_such_tool","arguments":{}}`), alice, true, `"error"`},
		{"bad cache control", call("6", `{"name":"echo","_meta":{"io.github.mcp-bridge/cache_control":5}}`), alice, false, `"code":-32602`},
		{"arguments not an object", call("7", `{"name":"echo","arguments":[1]}`), alice, false, `"id":7`},
		{"name not a string", call("8", `{"name":5}`), alice, false, ``},
		{"progress token", call("9", `{"name":"echo","arguments":{},"_meta":{"progressToken":"p9"}}`), alice, false, `"result"`},
		{"unknown member", call("10", `{"name":"echo","arguments":{},"task":{}}`), alice, false, ``},
		{"another principal", call("11", `{"name":"echo","arguments":{}}`), map[string]string{"X-Test-User": "mallory"}, false, `user mismatch`},
	})
	t.Run("unknown session", func(t *testing.T) {
		checkSame(t, s, "NOSUCHSESSION", []fastCase{{"call", call("12", `{"name":"echo"}`), alice, false, `-31011`}})
	})

	// A session that set a log level gets its calls' log messages on
	// their streams: the SDK serves it.
	body := post(t, s, sid, "2025-11-25", `{"jsonrpc":"2.0","id":20,"method":"logging/setLevel","params":{"level":"debug"}}`, alice)
	if !bytes.Contains(body, []byte(`"result"`)) {
		t.Fatalf("logging/setLevel: %s", body)
	}
	checkSame(t, s, sid, []fastCase{{"after setLevel", call("21", `{"name":"log","arguments":{"message":"hello"}}`), alice, false, `"result"`}})
}

// TestFastPathKeepsChildResult sends a plain text result as the child
// wrote it, as the REST API does, on Streamable HTTP and HTTP+SSE: its keys
// in the child's order, its numbers and characters as the child spelled
// them. Decoding it into the SDK's type would sort the keys and round the
// number to a float64.
func TestFastPathKeepsChildResult(t *testing.T) {
	s := newStack(t, stackOptions{children: 1, events: filepath.Join(t.TempDir(), "events.jsonl"), fast: true})
	const args = `{"z":"<b>","a":12345678901234567890,"m":[1.50,{"y":1,"x":2}]}`
	want := `"structuredContent":` + args + `,"_meta":{`
	sid := initialize(t, s, "2025-11-25", nil)
	before := mcphttp.FastCalls(s.handler)
	got, _ := postAnswer(t, s, sid, call("1", `{"name":"echo","arguments":`+args+`}`), nil)
	if !strings.HasPrefix(got.msg, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":`) || !strings.Contains(got.msg, want) {
		t.Errorf("Streamable HTTP answered %d %s; want the child's result with %s", got.status, got.msg, want)
	}
	c := openSSE(t, s)
	c.send(call("2", `{"name":"echo","arguments":`+args+`}`))
	if _, data := c.next(); !strings.HasPrefix(data, `{"jsonrpc":"2.0","id":2,"result":{"content":[`) || !strings.Contains(data, want) {
		t.Errorf("HTTP+SSE answered %s; want the child's result with %s", data, want)
	}
	if n := mcphttp.FastCalls(s.handler) - before; n != 2 {
		t.Errorf("fast path answered %d calls; want 2", n)
	}
}

// TestFastPathContent gives every kind of content the SDK's answer.
func TestFastPathContent(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	sid := initialize(t, s, "2025-11-25", nil)
	var cases []fastCase
	for i, tool := range []string{"test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource", "test_multiple_content_types", "test_error_handling", "json_schema_2020_12_tool"} {
		cases = append(cases, fastCase{tool, call(strconv.Itoa(i+1), `{"name":"`+tool+`","arguments":{}}`), nil, true, `"id":` + strconv.Itoa(i+1)})
	}
	checkSame(t, s, sid, cases)
}

// TestFastPathClientRequests leaves the calls of a client that answers a
// child's requests to the SDK, which routes them.
func TestFastPathClientRequests(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	resp := do(t, s, http.MethodPost, "", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	resp = do(t, s, http.MethodPost, sid, "2025-11-25", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil)
	resp.Body.Close()
	checkSame(t, s, sid, []fastCase{{"sampling client", call("2", `{"name":"test_simple_text","arguments":{}}`), nil, false, `"result"`}})
}

// TestFastPathCancel stops a fast call in the child on
// notifications/cancelled, and when its client goes away.
func TestFastPathCancel(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events})
	sid := initialize(t, s, "2025-11-25", nil)

	before := mcphttp.FastCalls(s.handler)
	var wg sync.WaitGroup
	var got answer
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = postAnswer(t, s, sid, call("1", `{"name":"slow_read","arguments":{"ms":60000,"note":"cancel-1"}}`), nil)
	}()
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == "cancel-1" })
	resp := do(t, s, http.MethodPost, sid, "2025-11-25", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("notifications/cancelled: %s; want 202", resp.Status)
	}
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Note == "cancel-1" })
	wg.Wait()
	if got.status != http.StatusOK || !strings.Contains(got.msg, `"error"`) || !strings.Contains(got.msg, `"id":1`) {
		t.Errorf("the cancelled call answered %d %s; want a JSON-RPC error for id 1", got.status, got.msg)
	}
	if n := mcphttp.FastCalls(s.handler) - before; n != 1 {
		t.Errorf("fast path answered %d calls; want 1", n)
	}

	// The client going away cancels the call too: no one could read its
	// answer.
	ctx, cancel := context.WithCancel(testContext(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/mcp", strings.NewReader(call("2", `{"name":"slow_read","arguments":{"ms":60000,"note":"cancel-2"}}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == "cancel-2" })
	cancel()
	<-done
	waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Note == "cancel-2" })
}

// TestFastPathKeepsSessionAlive counts fast calls as the session's
// activity: a session busy with one outlives the idle timeout, and an idle
// one still ends.
func TestFastPathKeepsSessionAlive(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events, cfg: mcphttp.Config{SessionTimeout: 200 * time.Millisecond}})
	sid := initialize(t, s, "2025-11-25", nil)
	before := mcphttp.FastCalls(s.handler)
	// Longer than the timeout: the session must not end under it.
	got, _ := postAnswer(t, s, sid, call("1", `{"name":"slow_read","arguments":{"ms":600}}`), nil)
	if got.status != http.StatusOK || !strings.Contains(got.msg, `"result"`) {
		t.Fatalf("a call longer than the idle timeout: %d %s", got.status, got.msg)
	}
	got, _ = postAnswer(t, s, sid, call("2", `{"name":"echo","arguments":{}}`), nil)
	if got.status != http.StatusOK || !strings.Contains(got.msg, `"result"`) {
		t.Fatalf("a call right after it: %d %s; want the session still open", got.status, got.msg)
	}
	if n := mcphttp.FastCalls(s.handler) - before; n != 2 {
		t.Errorf("fast path answered %d calls; want 2", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for mcphttp.SessionKnown(s.handler, sid) { // watched without touching it
		if time.Now().After(deadline) {
			t.Fatal("an idle session still open after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, _ = postAnswer(t, s, sid, call("3", `{"name":"echo","arguments":{}}`), nil)
	if got.status != http.StatusNotFound {
		t.Errorf("a call on a timed-out session: %d %s; want 404", got.status, got.msg)
	}
}

// TestFastPathManySessions serves every session opened at once on the fast
// path, each call with its own answer.
func TestFastPathManySessions(t *testing.T) {
	s := newStack(t, stackOptions{children: 1})
	const n = 64
	before := mcphttp.FastCalls(s.handler)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sid := initialize(t, s, "2025-11-25", nil)
			note := "session-" + strconv.Itoa(i)
			got, _ := postAnswer(t, s, sid, call("1", `{"name":"test_simple_text","arguments":{"note":"`+note+`"}}`), nil)
			if got.status != http.StatusOK || !strings.Contains(got.msg, `"result"`) {
				t.Errorf("session %d: %d %s", i, got.status, got.msg)
			}
		})
	}
	wg.Wait()
	if got := mcphttp.FastCalls(s.handler) - before; got != n {
		t.Errorf("fast path answered %d of %d calls on sessions opened at once", got, n)
	}
}
