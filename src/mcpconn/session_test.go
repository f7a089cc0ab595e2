package mcpconn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestHandshake(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{Name: "handshake-server"}))

	if got, want := s.ProtocolVersion(), mcpconn.LatestProtocolVersion; got != want {
		t.Errorf("ProtocolVersion() = %q, want %q", got, want)
	}
	if got, want := s.ServerInfo(), (mcpconn.Implementation{Name: "handshake-server", Version: "1.0.0"}); got != want {
		t.Errorf("ServerInfo() = %+v, want %+v", got, want)
	}
	if got, want := s.Instructions(), "pooltest child"; got != want {
		t.Errorf("Instructions() = %q, want %q", got, want)
	}
	var caps map[string]json.RawMessage
	if err := json.Unmarshal(s.Capabilities(), &caps); err != nil || caps["tools"] == nil {
		t.Errorf("Capabilities() = %s (%v), want a tools capability", s.Capabilities(), err)
	}
	var init struct {
		ServerInfo mcpconn.Implementation `json:"serverInfo"`
	}
	if err := json.Unmarshal(s.InitializeResult(), &init); err != nil || init.ServerInfo.Name != "handshake-server" {
		t.Errorf("InitializeResult() = %s (%v)", s.InitializeResult(), err)
	}
	f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "initialized" && e.Pid == s.Pid() })
	for _, want := range []string{`"child":"test-child"`, `"stderr":"pooltest child`} {
		if !strings.Contains(f.logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, f.logs)
		}
	}
}

func TestConcurrentCallsOnOneSession(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf(`{"i":%d,"s":"call-%d"}`, i, i)
			r, err := callTool(t.Context(), s, "echo", json.RawMessage(want))
			if err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
				return
			}
			if got := r.Text(); got != want {
				errs <- fmt.Errorf("call %d: got %s, want %s", i, got, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	_, err := s.Call(t.Context(), "no/such/method", nil)
	var rpcErr *mcpconn.RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Code != -32601 {
		t.Errorf("unknown method: err = %v, want *RPCError -32601", err)
	}
	r, err := callTool(t.Context(), s, "fail", nil)
	if err != nil || !r.IsError {
		t.Errorf("fail tool: result %+v, err %v; want isError result", r, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Call(ctx, "ping", nil); !errors.Is(err, mcpconn.ErrNotSent) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v, want ErrNotSent and context.Canceled", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	s.Close()
	if _, err := s.Call(t.Context(), "ping", nil); !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("after Close: err = %v, want ErrNotSent", err)
	}
	if !errors.Is(s.Err(), mcpconn.ErrSessionLost) {
		t.Errorf("Err() after Close = %v, want ErrSessionLost", s.Err())
	}
}

func TestCancelSendsNotification(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := callTool(ctx, s, "slow_read", map[string]any{"ms": 600000, "note": "to-cancel"})
		done <- err
	}()
	f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "call" && e.Note == "to-cancel" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("err = %v, want context.Canceled (sent)", err)
	}
	n := f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "cancel_notification" })
	if n.Reason != "context canceled" || n.RequestID == nil {
		t.Errorf("cancel notification = %+v, want request id and reason", n)
	}
	f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Note == "to-cancel" })
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("session unusable after a cancellation: %v", err)
	}
}

func TestCrashMidCall(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	_, err := callTool(t.Context(), s, "crash", map[string]any{"after_ms": 0})
	if !errors.Is(err, mcpconn.ErrSessionLost) || !strings.Contains(err.Error(), "exit status 2") {
		t.Errorf("err = %v, want ErrSessionLost mentioning exit status 2", err)
	}
	<-s.Done()
	if _, err := s.Call(t.Context(), "ping", nil); !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("after loss: err = %v, want ErrNotSent", err)
	}
}

func TestProgressTokensRetagged(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	// Two concurrent calls with the same token each see only their own progress.
	var wg sync.WaitGroup
	got := make([][]string, 2)
	for i := range 2 {
		wg.Go(func() {
			var mu sync.Mutex
			ctx := mcpconn.WithHandlers(t.Context(), &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) {
				mu.Lock()
				defer mu.Unlock()
				got[i] = append(got[i], method+" "+compactProgress(t, params))
			}})
			params := `{"name":"slow_read","arguments":{"ms":50},"_meta":{"progressToken":"tok"}}`
			if _, err := s.Call(ctx, "tools/call", json.RawMessage(params)); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	want := []string{`notifications/progress "tok" 1`, `notifications/progress "tok" 2`}
	for i := range 2 {
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("call %d progress (-want +got):\n%s", i, diff)
		}
	}
}

func compactProgress(t *testing.T, params json.RawMessage) string {
	var p struct {
		Token    json.RawMessage `json:"progressToken"`
		Progress float64         `json:"progress"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		t.Errorf("progress params %s: %v", params, err)
	}
	return fmt.Sprintf("%s %g", p.Token, p.Progress)
}

func TestChildRequests(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	r, err := callTool(t.Context(), s, "roots", nil)
	if err != nil || !r.IsError || !strings.Contains(r.Text(), "method not found") {
		t.Errorf("roots without handler: %+v, %v; want the child to see method not found", r, err)
	}
	ctx := mcpconn.WithHandlers(t.Context(), &mcpconn.Handlers{
		Request: func(_ context.Context, method string, _ json.RawMessage) (json.RawMessage, error) {
			if method != "roots/list" {
				return nil, &mcpconn.RPCError{Code: -32601, Message: method}
			}
			return json.RawMessage(`{"roots":[{"uri":"file:///config","name":"config"}]}`), nil
		},
	})
	r, err = callTool(ctx, s, "roots", nil)
	if err != nil || r.IsError || !strings.Contains(r.Text(), "file:///config") {
		t.Errorf("roots with handler: %+v, %v; want the handler's roots", r, err)
	}
}

func TestLogNotificationToCaller(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))
	if _, err := s.Call(t.Context(), "logging/setLevel", json.RawMessage(`{"level":"debug"}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	ctx := mcpconn.WithHandlers(t.Context(), &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) {
		got = append(got, method) // the read loop calls handlers one at a time
	}})
	if _, err := callTool(ctx, s, "log", map[string]any{"message": "hello"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"notifications/message"}, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

func TestHungChildFailsPing(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(pooltest.ChildOptions{})
	cfg.StopTimeout = 2 * time.Second
	s := f.start(t, cfg)

	done := make(chan error, 1)
	go func() {
		_, err := callTool(t.Context(), s, "hang", nil)
		done <- err
	}()
	f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "hang" })
	// The read already in progress may still deliver a message; a later
	// ping cannot be answered.
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err = s.Ping(ctx)
		cancel()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping to a hung child: %v, want deadline exceeded", err)
	}
	s.Close()
	if err := <-done; !errors.Is(err, mcpconn.ErrSessionLost) {
		t.Errorf("hung call after Close: %v, want ErrSessionLost", err)
	}
	if got := s.StoppedBy(); got != "SIGTERM" {
		t.Errorf("StoppedBy() = %q, want SIGTERM (a hung child never sees stdin close)", got)
	}
}

// TestWriteToChildNotReading: a message the pipe cannot take, to a child
// that stopped reading, is written in the background: its caller returns
// when its ctx ends, as sent, the next caller cannot start writing and
// fails as not sent, and Close ends it all.
func TestWriteToChildNotReading(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(pooltest.ChildOptions{})
	cfg.StopTimeout = 2 * time.Second
	s := f.start(t, cfg)

	done := make(chan error, 1)
	go func() {
		_, err := callTool(t.Context(), s, "hang", nil)
		done <- err
	}()
	f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "hang" })
	big := json.RawMessage(`{"name":"echo","arguments":{"s":"` + strings.Repeat("x", 4<<20) + `"}}`)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := s.Call(ctx, "tools/call", big)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("big call: %v, want deadline exceeded after sending began", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err = s.Call(ctx, "ping", nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("call behind the stuck write: %v, want not sent, deadline exceeded", err)
	}
	s.Close()
	if err := <-done; !errors.Is(err, mcpconn.ErrSessionLost) {
		t.Errorf("hung call after Close: %v, want ErrSessionLost", err)
	}
	if _, err := s.Call(t.Context(), "ping", nil); !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("after Close: %v, want ErrNotSent", err)
	}
}

// TestIdleChildMessages checks that what a child sends while no call is
// pending is still read and handled: a shell child answers initialize,
// then sends a notification on its own.
func TestIdleChildMessages(t *testing.T) {
	newFixture(t)
	script := `read line
printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"sh","version":"1"}}}'
read line
sleep 0.2
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"while idle"}}'
read line`
	got := make(chan string, 1)
	cfg := mcpconn.Config{
		Command:     []string{"sh", "-c", script},
		StopTimeout: 10 * time.Second,
		Handlers: &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) {
			got <- method + " " + string(params)
		}},
	}
	s, err := mcpconn.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	select {
	case n := <-got:
		if !strings.Contains(n, "notifications/message") || !strings.Contains(n, "while idle") {
			t.Errorf("notification = %s", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the idle child's notification was never read")
	}
}

// TestCallAfterInterruptedRead checks that a call whose context ends while
// it reads the child's output leaves the session usable, for a call that
// then reads in its turn.
func TestCallAfterInterruptedRead(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := callTool(ctx, s, "slow_read", map[string]any{"ms": 600000})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow call err = %v, want context.DeadlineExceeded", err)
		}
		if res, err := callTool(t.Context(), s, "echo", map[string]any{"x": 1}); err != nil || !strings.Contains(string(res.StructuredContent), `"x":1`) {
			t.Fatalf("echo after an interrupted read = %+v, %v", res, err)
		}
	}
}

// TestReadersUnderCancellation mixes calls answered at once with calls whose
// context ends while they wait, or while they read for everyone, on one
// session: every answered call gets its own answer, and the session stays
// usable.
func TestReadersUnderCancellation(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{}))

	const workers, calls = 16, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				if (w+i)%3 == 0 {
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%5)*time.Millisecond)
					_, err := callTool(ctx, s, "slow_read", map[string]any{"ms": 20})
					cancel()
					if err != nil && !errors.Is(err, context.DeadlineExceeded) {
						errs <- fmt.Errorf("worker %d call %d (slow): %w", w, i, err)
					}
					continue
				}
				want := fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)
				r, err := callTool(t.Context(), s, "echo", json.RawMessage(want))
				switch {
				case err != nil:
					errs <- fmt.Errorf("worker %d call %d: %w", w, i, err)
				case r.Text() != want:
					errs <- fmt.Errorf("worker %d call %d: got %s, want %s", w, i, r.Text(), want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the mix: %v", err)
	}
}

// TestStatelessSession opens a session in the 2026-07-28 protocol, without
// initialize: every request carries the protocol's _meta, so the child
// answers its own input_required result instead of asking by request, and
// the health check is server/discover. A child that does not speak the
// protocol is ErrUnsupportedVersion.
func TestStatelessSession(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(pooltest.ChildOptions{Name: "stateless-server"})
	cfg.ProtocolVersion = mcpconn.StatelessProtocolVersion
	cfg.ClientCapabilities = json.RawMessage(`{"elicitation":{"form":{}}}`)
	s := f.start(t, cfg)
	if !s.Stateless() || s.ProtocolVersion() != mcpconn.StatelessProtocolVersion || s.ServerInfo().Name != "stateless-server" {
		t.Errorf("Stateless() %v, ProtocolVersion() %q, ServerInfo() %+v", s.Stateless(), s.ProtocolVersion(), s.ServerInfo())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	raw, err := s.Call(ctx, "tools/call", json.RawMessage(`{"name":"ask_name","arguments":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		ResultType    string                     `json:"resultType"`
		InputRequests map[string]json.RawMessage `json:"inputRequests"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.ResultType != "input_required" || res.InputRequests["user_name"] == nil {
		t.Fatalf("ask_name answered %s (%v); want input_required naming user_name", raw, err)
	}
	raw, err = s.Call(ctx, "tools/call", json.RawMessage(`{"name":"ask_name","arguments":{},`+
		`"inputResponses":{"user_name":{"action":"accept","content":{"name":"Ada"}}}}`))
	if err != nil || !strings.Contains(string(raw), "Hello, Ada!") {
		t.Fatalf("the retry answered %s (%v)", raw, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	for _, e := range f.readEvents(t) {
		if e.Kind == "initialized" {
			t.Errorf("the child was initialized: %+v", e)
		}
	}

	fast := f.config(pooltest.ChildOptions{Fast: true})
	fast.ProtocolVersion = mcpconn.StatelessProtocolVersion
	if s, err := mcpconn.Start(ctx, fast); !errors.Is(err, mcpconn.ErrUnsupportedVersion) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Start on a child without server/discover: %v; want ErrUnsupportedVersion", err)
	}
}
