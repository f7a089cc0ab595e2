package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestInitializeResultAndStats(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{Name: "init-server"}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 2, 2, 2
	})
	raw, err := h.p.InitializeResult(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var init struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
		ServerInfo      struct{ Name string }
	}
	if err := json.Unmarshal(raw, &init); err != nil {
		t.Fatal(err)
	}
	if init.ServerInfo.Name != "init-server" || init.ProtocolVersion != mcpconn.LatestProtocolVersion ||
		!strings.Contains(string(init.Capabilities), `"tools"`) {
		t.Errorf("InitializeResult() = %s", raw)
	}
	s := h.waitStats(t, "2 idle children", func(s pool.Stats) bool { return s.Idle == 2 })
	if s.Total != 2 || s.Failing || s.LastError != "" || s.ByStatus["idle"] != 2 {
		t.Errorf("Stats() = %+v", s)
	}
	if got := h.p.Capacity(); got != 2 {
		t.Errorf("Capacity() = %d, want 2", got)
	}
	h.waitEvents(t, 2, func(e pooltest.Event) bool { return e.Kind == "initialized" })
	if !strings.Contains(h.logs.String(), `"stderr":"pooltest child`) {
		t.Errorf("children's stderr not logged:\n%s", h.logs)
	}
}

func TestConcurrentCalls(t *testing.T) {
	for _, children := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d children", children), func(t *testing.T) {
			h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
				c.MinSessions, c.TargetSessions, c.MaxSessions = children, children, children
			})
			h.waitStats(t, "all children idle", func(s pool.Stats) bool { return s.Idle == children })
			runEchoes(t, h.p, 200)
			// With every child idle at first, the first calls went to distinct children.
			calls := pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "call" })
			if got := len(pooltest.Pids(calls, "call")); got != children {
				t.Errorf("calls served by %d children, want %d", got, children)
			}
		})
	}
}

// runEchoes makes n concurrent echo calls with unique arguments and checks
// each gets its own answer.
func runEchoes(t *testing.T, p *pool.Pool, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf(`{"caller":%d,"tag":"echo-%d"}`, i, i)
			r, err := callTool(t.Context(), p, "echo", json.RawMessage(want))
			switch {
			case err != nil:
				errs <- fmt.Errorf("call %d: %w", i, err)
			case r.Text() != want:
				errs <- fmt.Errorf("call %d got %s, want %s", i, r.Text(), want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPipelining(t *testing.T) {
	const inflight = 6
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) { c.MaxInflightPerSession = inflight })
	h.waitStats(t, "a ready child", func(s pool.Stats) bool { return s.Idle == 1 })
	if got := h.p.Capacity(); got != inflight {
		t.Errorf("Capacity() = %d, want %d", got, inflight)
	}
	// inflight calls that cannot finish are all running on the one child at once.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for i := range inflight {
		wg.Go(func() {
			_, err := callTool(ctx, h.p, "slow_read", map[string]any{"ms": 600000, "note": fmt.Sprint(i)})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("slow call %d: %v, want context.Canceled", i, err)
			}
		})
	}
	calls := h.waitEvents(t, inflight, func(e pooltest.Event) bool { return e.Kind == "call" && e.Tool == "slow_read" })
	if pids := pooltest.Pids(calls, "call"); len(pids) != 1 {
		t.Errorf("slow calls ran on %v, want one child", pids)
	}
	if s := h.p.Stats(); s.Busy != 1 {
		t.Errorf("Stats().Busy = %d, want 1", s.Busy)
	}
	cancel()
	wg.Wait()
	h.waitEvents(t, inflight, func(e pooltest.Event) bool { return e.Kind == "cancel_notification" })
	runEchoes(t, h.p, 200) // ids rewritten: every answer reaches its caller
}

func TestChildKilledMidCall(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	pid := counterPid(t, h.p)
	done := make(chan error, 1)
	go func() {
		_, err := callTool(t.Context(), h.p, "slow_read", map[string]any{"ms": 600000})
		done <- err
	}()
	h.waitEvents(t, 1, func(e pooltest.Event) bool { return e.Kind == "call" && e.Tool == "slow_read" })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, mcpconn.ErrSessionLost) || !strings.Contains(err.Error(), "killed") {
		t.Errorf("call on a killed child: %v, want ErrSessionLost (signal: killed)", err)
	}
	if next := counterPid(t, h.p); next == pid {
		t.Errorf("next call answered by the killed child %d", pid)
	}
	if s := h.p.Stats(); s.Restarts < 1 {
		t.Errorf("Stats().Restarts = %d, want >= 1", s.Restarts)
	}
}

func TestCrashToolMidCall(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	pid := counterPid(t, h.p)
	_, err := callTool(t.Context(), h.p, "crash", map[string]any{"after_ms": 0})
	if !errors.Is(err, mcpconn.ErrSessionLost) {
		t.Errorf("crash: %v, want ErrSessionLost", err)
	}
	if next := counterPid(t, h.p); next == pid {
		t.Errorf("next call answered by the crashed child %d", pid)
	}
}

func TestHungChildReplaced(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.HealthCheckInterval = 50 * time.Millisecond
		c.HealthCheckTimeout = 500 * time.Millisecond
		c.StopTimeout = 2 * time.Second
	})
	pid := counterPid(t, h.p)
	_, err := callTool(t.Context(), h.p, "hang", nil)
	if !errors.Is(err, mcpconn.ErrSessionLost) {
		t.Errorf("call on a hung child: %v, want ErrSessionLost once it is replaced", err)
	}
	if next := counterPid(t, h.p); next == pid {
		t.Errorf("next call answered by the hung child %d", pid)
	}
	if !strings.Contains(h.logs.String(), "failed its health check") {
		t.Errorf("no health check failure logged:\n%s", h.logs)
	}
}

// TestStalledChildKept checks that a child missing one health check, and
// answering the next, is kept with the work it was doing.
func TestStalledChildKept(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MinSessions, c.MaxSessions, c.TargetSessions = 1, 1, 1
		c.HealthCheckInterval = 100 * time.Millisecond
		c.HealthCheckTimeout = time.Second
	})
	pid := counterPid(t, h.p)
	// The first ping waits out the stall and times out; the next is read
	// when the stall ends and answered well within its timeout.
	if _, err := callTool(t.Context(), h.p, "stall", map[string]any{"ms": 1500}); err != nil {
		t.Fatalf("stall: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(h.logs.String(), "missed a health check"); {
		if time.Now().After(deadline) {
			t.Fatalf("no missed health check logged:\n%s", h.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if next := counterPid(t, h.p); next != pid {
		t.Errorf("after one missed ping the call was answered by %d, want the same child %d", next, pid)
	}
	if strings.Contains(h.logs.String(), "failed its health check") {
		t.Errorf("the stalled child was replaced:\n%s", h.logs)
	}
}

func TestStartFailuresFailFast(t *testing.T) {
	var rpcErr *mcpconn.RPCError
	tests := []struct {
		name   string
		opts   pooltest.ChildOptions
		mutate func(*pool.Config)
		is     func(error) bool
		want   string
	}{
		{"command not found", pooltest.ChildOptions{}, func(c *pool.Config) { c.Command = []string{"mcp-bridge-no-such-command"} },
			func(err error) bool { return errors.Is(err, exec.ErrNotFound) }, "executable file not found"},
		{"initialize refused", pooltest.ChildOptions{FailInitialize: true}, nil,
			func(err error) bool { return errors.As(err, &rpcErr) }, "initialize refused"},
		{"exits at start", pooltest.ChildOptions{ExitAtStart: 3}, nil,
			func(err error) bool { return errors.Is(err, mcpconn.ErrSessionLost) }, "exit status 3"},
		{"never initializes", pooltest.ChildOptions{StartDelay: time.Hour}, func(c *pool.Config) {
			c.StartTimeout, c.StopTimeout = 100*time.Millisecond, 100*time.Millisecond
		}, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts, tt.mutate)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			_, err := h.p.Call(ctx, "tools/list", nil)
			if !errors.Is(err, pool.ErrUnavailable) || !errors.Is(err, mcpconn.ErrNotSent) || !tt.is(err) ||
				!strings.Contains(err.Error(), tt.want) {
				t.Errorf("Call: %v, want ErrUnavailable, ErrNotSent and %q", err, tt.want)
			}
			if ctx.Err() != nil {
				t.Error("Call waited for its ctx instead of failing fast")
			}
			if _, err := h.p.InitializeResult(ctx); !errors.Is(err, pool.ErrUnavailable) {
				t.Errorf("InitializeResult: %v, want ErrUnavailable", err)
			}
			s := h.waitStats(t, "retries", func(s pool.Stats) bool { return s.Restarts >= 2 })
			if !s.Failing || !strings.Contains(s.LastError, tt.want) {
				t.Errorf("Stats() = %+v, want Failing with the start error", s)
			}
			if !strings.Contains(h.logs.String(), "child failed to start") {
				t.Errorf("start failure not logged:\n%s", h.logs)
			}
		})
	}
}

func TestCrashLoopBackoffGrows(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{ExitAtStart: 3}, func(c *pool.Config) {
		c.RestartBackoffMin, c.RestartBackoffMax = 10*time.Millisecond, 160*time.Millisecond
	})
	var seen []time.Duration
	h.waitStats(t, "the backoff cap", func(s pool.Stats) bool {
		if s.Backoff > 0 && (len(seen) == 0 || seen[len(seen)-1] != s.Backoff) {
			seen = append(seen, s.Backoff)
		}
		return s.Backoff == 160*time.Millisecond
	})
	allowed := map[time.Duration]bool{10 * time.Millisecond: true, 20 * time.Millisecond: true,
		40 * time.Millisecond: true, 80 * time.Millisecond: true, 160 * time.Millisecond: true}
	for i, d := range seen {
		if !allowed[d] || (i > 0 && d <= seen[i-1]) {
			t.Errorf("backoffs seen %v: want a growing subsequence of 10ms, 20ms, ... 160ms", seen)
			break
		}
	}
	if _, err := h.p.Call(t.Context(), "ping", nil); !errors.Is(err, pool.ErrUnavailable) || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Call: %v, want ErrUnavailable mentioning exit status 3", err)
	}
}

func TestCancelMidCallNotifiesChild(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := callTool(ctx, h.p, "write", map[string]any{"entity_id": "light.x", "ms": 600000, "note": "w1"})
		done <- err
	}()
	h.waitEvents(t, 1, func(e pooltest.Event) bool { return e.Kind == "start" && e.Note == "w1" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	h.waitEvents(t, 1, func(e pooltest.Event) bool { return e.Kind == "cancel_notification" })
	h.waitEvents(t, 1, func(e pooltest.Event) bool { return e.Kind == "cancelled" && e.Note == "w1" })
	if n := len(pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "end" })); n != 0 {
		t.Errorf("cancelled write finished anyway (%d end events)", n)
	}
	runEchoes(t, h.p, 5)
}

func TestRPCErrorPassesThrough(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	_, err := h.p.Call(t.Context(), "no/such/method", nil)
	var rpcErr *mcpconn.RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Code != -32601 {
		t.Errorf("err = %v, want *RPCError -32601", err)
	}
	r, err := callTool(t.Context(), h.p, "fail", nil)
	if err != nil || !r.IsError {
		t.Errorf("fail tool: %+v, %v; want an isError result", r, err)
	}
}

func TestProgressReachesCaller(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	var got []string
	ctx := mcpconn.WithHandlers(t.Context(), &mcpconn.Handlers{Notification: func(method string, params json.RawMessage) {
		got = append(got, method+" "+string(params))
	}})
	params := json.RawMessage(`{"name":"slow_read","arguments":{"ms":1},"_meta":{"progressToken":"downstream-7"}}`)
	if _, err := h.p.Call(ctx, "tools/call", params); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.Contains(got[0], `"progressToken":"downstream-7"`) {
		t.Errorf("progress seen by the caller: %q", got)
	}
}
