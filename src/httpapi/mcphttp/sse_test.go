package mcphttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// TestSSESessionOwner refuses messages to an HTTP+SSE session from any
// principal but the one that opened it, as Streamable HTTP does (see
// TestSessionOwner): the session id is unknown to them (404).
func TestSSESessionOwner(t *testing.T) {
	s := newStack(t, stackOptions{cfg: mcphttp.Config{Identity: func(r *http.Request) string { return r.Header.Get("X-Test-User") }}})
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Test-User", "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	endpoint := ""
	for sc := bufio.NewScanner(resp.Body); endpoint == "" && sc.Scan(); {
		if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			endpoint = strings.TrimSpace(d)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || !strings.Contains(endpoint, "sessionid=") {
		t.Fatalf("endpoint event %q: %v", endpoint, err)
	}
	post := func(user string) int {
		req, _ := http.NewRequest(http.MethodPost, s.url+u.RequestURI(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, other := range []string{"mallory", ""} {
		if got := post(other); got != http.StatusNotFound {
			t.Errorf("a message from %q to alice's SSE session: %d; want 404", other, got)
		}
	}
	if got := post("alice"); got != http.StatusAccepted {
		t.Errorf("a message from alice to her own SSE session: %d; want 202", got)
	}
}

// sseClient is a raw HTTP+SSE session: its stream and the URL to post to.
type sseClient struct {
	t      *testing.T
	s      *stack
	post   string
	events *bufio.Reader
}

func openSSE(t *testing.T, s *stack) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	c := &sseClient{t: t, s: s, events: bufio.NewReader(resp.Body)}
	name, data := c.next()
	if name != "endpoint" {
		t.Fatalf("first event %q %q; want endpoint", name, data)
	}
	c.post = data
	c.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	c.next()
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return c
}

// next reads the stream's next event, skipping comments.
func (c *sseClient) next() (name, data string) {
	c.t.Helper()
	for {
		line, err := c.events.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case line == "" && data != "":
			return name, data
		}
	}
}

// send posts a message and wants 202 Accepted.
func (c *sseClient) send(body string) {
	c.t.Helper()
	resp, err := http.Post(c.s.url+c.post, "application/json", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("posting %s: %s; want 202", body, resp.Status)
	}
}

// TestSSEFastPathSameAnswers answers plain tools/calls posted to an
// HTTP+SSE session on the POST's goroutine, down the session's stream, as
// the SDK's session does.
func TestSSEFastPathSameAnswers(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	s := newStack(t, stackOptions{children: 1, events: events})
	c := openSSE(t, s)
	for _, tc := range []fastCase{
		{"success", call("1", `{"name":"echo","arguments":{"a":"<b>"}}`), nil, true, `"structuredContent":{"a":`},
		{"tool error", call("2", `{"name":"fail","arguments":{}}`), nil, true, `"isError":true`},
		{"unknown tool", call("3", `{"name":"no_such_tool","arguments":{}}`), nil, true, `"error"`},
		{"progress token", call("4", `{"name":"echo","arguments":{},"_meta":{"progressToken":4}}`), nil, false, `"result"`},
		{"bad cache control", call("5", `{"name":"echo","_meta":{"io.github.mcp-bridge/cache_control":5}}`), nil, false, `"code":-32602`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := mcphttp.FastCalls(s.handler)
			c.send(tc.body)
			_, fast := c.next()
			if got := mcphttp.FastCalls(s.handler) - before; got != map[bool]int64{true: 1, false: 0}[tc.fast] {
				t.Errorf("fast path answered %d calls; want fast=%v", got, tc.fast)
			}
			mcphttp.SetFastPath(s.handler, false)
			defer mcphttp.SetFastPath(s.handler, true)
			c.send(tc.body)
			_, slow := c.next()
			fast, slow = timings.ReplaceAllString(fast, "${1}0"), timings.ReplaceAllString(slow, "${1}0")
			if !sameAnswer(fast, slow) {
				t.Errorf("answers differ:\nfast path: %s\nSDK:       %s", fast, slow)
			}
			if !strings.Contains(fast, tc.want) {
				t.Errorf("answer %s lacks %s", fast, tc.want)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		before := mcphttp.FastCalls(s.handler)
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.Post(s.url+c.post, "application/json", strings.NewReader(call("9", `{"name":"slow_read","arguments":{"ms":60000,"note":"sse-cancel"}}`)))
			if err == nil {
				resp.Body.Close()
			}
		}()
		waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == "sse-cancel" })
		c.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}`)
		waitEvent(t, events, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Note == "sse-cancel" })
		<-done
		if _, data := c.next(); !strings.Contains(data, `"id":9`) || !strings.Contains(data, `"error"`) {
			t.Errorf("the cancelled call answered %s; want an error for id 9", data)
		}
		if n := mcphttp.FastCalls(s.handler) - before; n != 1 {
			t.Errorf("fast path answered %d calls; want 1", n)
		}
	})

	// A session that set a log level gets its calls' log messages: the
	// SDK serves it.
	c.send(`{"jsonrpc":"2.0","id":10,"method":"logging/setLevel","params":{"level":"debug"}}`)
	c.next()
	before := mcphttp.FastCalls(s.handler)
	c.send(call("11", `{"name":"log","arguments":{"message":"hello"}}`))
	for name, data := c.next(); !strings.Contains(data, `"id":11`); name, data = c.next() {
		if name != "message" || !strings.Contains(data, "notifications/message") {
			t.Errorf("unexpected event %s %s", name, data)
		}
	}
	if n := mcphttp.FastCalls(s.handler) - before; n != 0 {
		t.Errorf("fast path answered %d calls after logging/setLevel; want 0", n)
	}
}

// TestSSECaller checks that the bridge learns who made an HTTP+SSE call on
// both paths: the SDK's, whose POSTs carry no principal of their own (the
// session's owner is the caller), and the fast path. The dashboard and the
// audit log of writes name that caller.
func TestSSECaller(t *testing.T) {
	var mu sync.Mutex
	callers := map[string]string{} // note -> Request.Client
	s := newStack(t, stackOptions{children: 1, events: filepath.Join(t.TempDir(), "events.jsonl"),
		cfg: mcphttp.Config{Identity: func(*http.Request) string { return "alice" }},
		onCall: func(_ context.Context, f bridge.Finished) {
			var args struct{ Note string }
			_ = json.Unmarshal(f.Request.Arguments, &args)
			mu.Lock()
			defer mu.Unlock()
			callers[args.Note] = f.Request.Client
		}})
	c := openSSE(t, s)
	c.send(call("1", `{"name":"echo","arguments":{"note":"fast"}}`))
	c.next()
	c.send(call("2", `{"name":"echo","arguments":{"note":"sdk"},"_meta":{"progressToken":2}}`))
	for _, data := c.next(); !strings.Contains(data, `"id":2`); _, data = c.next() {
	}
	mu.Lock()
	defer mu.Unlock()
	for _, note := range []string{"fast", "sdk"} {
		if callers[note] != "alice" {
			t.Errorf("the %s path's call reached the bridge from %q; want alice", note, callers[note])
		}
	}
}
