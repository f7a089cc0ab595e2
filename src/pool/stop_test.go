package pool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestGracefulStopDrains(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) {
		c.MinSessions, c.TargetSessions, c.MaxSessions = 2, 2, 2
	})
	h.waitStats(t, "2 idle children", func(s pool.Stats) bool { return s.Idle == 2 })
	var wg sync.WaitGroup
	for _, note := range []string{"a", "b"} {
		wg.Go(func() {
			r, err := callTool(t.Context(), h.p, "write", map[string]any{"entity_id": "light." + note, "ms": 300, "note": note})
			if err != nil || r.Text() != "wrote light."+note+" "+note {
				t.Errorf("write %s during shutdown: %+v, %v", note, r, err)
			}
		})
	}
	h.waitEvents(t, 2, func(e pooltest.Event) bool { return e.Kind == "start" })
	h.cancel() // stop while both writes run
	_, err := h.p.Call(t.Context(), "ping", nil)
	if !errors.Is(err, pool.ErrClosed) || !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("Call while stopping: %v, want ErrClosed and ErrNotSent", err)
	}
	wg.Wait()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "end" })); n != 2 {
		t.Errorf("%d writes finished, want 2", n)
	}
	if logs := h.logs.String(); strings.Contains(logs, "SIGTERM") || strings.Contains(logs, "SIGKILL") {
		t.Errorf("a child was signalled during a graceful stop:\n%s", logs)
	}
	if _, err := h.p.Call(t.Context(), "ping", nil); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Call after Run returned: %v, want ErrClosed", err)
	}
}

func TestStopEscalates(t *testing.T) {
	tests := []struct {
		name string
		opts pooltest.ChildOptions
		want string
	}{
		{"ignores stdin close", pooltest.ChildOptions{IgnoreStdinClose: true}, `"by":"SIGTERM"`},
		{"ignores SIGTERM", pooltest.ChildOptions{IgnoreStdinClose: true, IgnoreSIGTERM: true}, `"by":"SIGKILL"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts, func(c *pool.Config) { c.StopTimeout = time.Second })
			counterPid(t, h.p)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(h.logs.String(), tt.want) {
				t.Errorf("logs lack %s:\n%s", tt.want, h.logs)
			}
		})
	}
}

func TestCallBeforeRunWaits(t *testing.T) {
	t.Cleanup(func() { pooltest.NoLeakedGoroutines(t, "/src/pool/", "/src/mcpconn/") })
	p, err := pool.New(pool.Config{Command: pooltest.Command(), Env: pooltest.Env(pooltest.ChildOptions{}), MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Call(ctx, "ping", nil); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mcpconn.ErrNotSent) {
		t.Errorf("Call before Run: %v, want deadline exceeded and ErrNotSent", err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	stop()
	if err := p.Run(runCtx); err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := p.Run(runCtx); err == nil {
		t.Error("second Run succeeded")
	}
}
