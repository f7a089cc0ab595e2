package bridge_test

import (
	"context"
	"sync"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// TestOnCallSeesEveryCall: OnCall gets each finished call once, with its
// class, outcome and the caller's context, whether it succeeded or not.
func TestOnCallSeesEveryCall(t *testing.T) {
	type ctxKey struct{}
	var mu sync.Mutex
	var got []bridge.Finished
	var ctxValues []any
	e := newEnv(t, envOptions{bridge: bridge.Config{OnCall: func(ctx context.Context, f bridge.Finished) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, f)
		ctxValues = append(ctxValues, ctx.Value(ctxKey{}))
	}}})
	ctx := context.WithValue(t.Context(), ctxKey{}, "caller")
	client := func(r *bridge.Request) { r.Client = "api-token" }
	if _, err := e.call(ctx, "echo", `{"a":1}`, client); err != nil {
		t.Fatal(err)
	}
	if _, err := e.call(ctx, "write", `{"entity_id":"light.a"}`, client); err != nil {
		t.Fatal(err)
	}
	if _, err := e.call(ctx, "fail", `{}`, client); err != nil {
		t.Fatal(err)
	}
	if _, err := e.call(ctx, "no_such_tool", `{}`, client); err == nil {
		t.Fatal("no_such_tool: no error")
	}
	want := []struct {
		tool, outcome string
		kind          bridge.Kind
		failed        bool
	}{
		{"echo", "ok", bridge.KindRead, false},
		{"write", "ok", bridge.KindWrite, false},
		{"fail", "tool_error", bridge.KindRead, false},
		{"no_such_tool", "invalid", bridge.KindAuto, true},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("OnCall called %d times, want %d", len(got), len(want))
	}
	for i, w := range want {
		f := got[i]
		if f.Request.Tool != w.tool || f.Outcome != w.outcome || f.Kind != w.kind || (f.Err != nil) != w.failed ||
			f.Request.Client != "api-token" || f.Result.Meta.Duration <= 0 || f.Start.IsZero() {
			t.Errorf("call %d: got tool %q outcome %q kind %v err %v client %q duration %v; want %q %q %v failed=%v",
				i, f.Request.Tool, f.Outcome, f.Kind, f.Err, f.Request.Client, f.Result.Meta.Duration, w.tool, w.outcome, w.kind, w.failed)
		}
		if ctxValues[i] != "caller" {
			t.Errorf("call %d: OnCall did not get the caller's context", i)
		}
	}
}
