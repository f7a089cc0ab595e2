package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// hungExecutor offers a write and a read tool whose calls never end until
// cancelled, like calls to a Home Assistant that hangs.
type hungExecutor struct{ started chan string }

func (h hungExecutor) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if method == "tools/list" {
		return json.RawMessage(`{"tools":[{"name":"write","inputSchema":{"type":"object"}},` +
			`{"name":"read","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}}]}`), nil
	}
	var p struct{ Name string }
	_ = json.Unmarshal(params, &p)
	h.started <- p.Name
	<-ctx.Done()
	return nil, fmt.Errorf("%w: %w", mcpconn.ErrSessionLost, ctx.Err())
}

func (hungExecutor) InitializeResult(context.Context) (json.RawMessage, error) {
	return json.RawMessage(`{}`), nil
}

// Issue #9: on SIGTERM with writes hung at Home Assistant, clients lost
// their connections without an answer and the stop took 28.5 s.
func TestStopAnswersHungCallsAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exec := hungExecutor{started: make(chan string, 2)}
		b, err := bridge.New(bridge.Config{Executor: exec, Capacity: func() int { return 2 }, StopGrace: 4 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(t.Context())
		runDone := make(chan error, 1)
		go func() { runDone <- b.Run(ctx) }()
		calls := make(chan error, 2)
		for _, tool := range []string{"write", "read"} {
			go func() {
				_, err := b.Call(t.Context(), bridge.Request{Tool: tool, Timeout: time.Minute})
				calls <- err
			}()
		}
		<-exec.started
		<-exec.started
		start := time.Now()
		stop()
		var errs []error
		for range 2 {
			errs = append(errs, <-calls)
		}
		if err := <-runDone; err != nil {
			t.Errorf("Run = %v", err)
		}
		if took := time.Since(start); took != 4*time.Second {
			t.Errorf("the stop took %v, want the 4s grace", took)
		}
		var unknown, closed int
		for _, err := range errs {
			var se *bridge.StopError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *bridge.StopError", err)
			}
			if errors.Is(err, bridge.ErrOutcomeUnknown) {
				unknown++
			}
			if errors.Is(err, bridge.ErrClosed) {
				closed++
			}
		}
		if unknown != 1 || closed != 2 {
			t.Errorf("errors %v: want both ErrClosed, the write's also ErrOutcomeUnknown", errs)
		}
	})
}
