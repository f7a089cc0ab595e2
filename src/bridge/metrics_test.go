package bridge_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// TestErrorMetrics checks mcp_bridge_errors_total and
// mcp_bridge_requests_per_second against known traffic: three answers, two
// tool errors, one unknown tool and one invalid request.
func TestErrorMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, envOptions{bridge: bridge.Config{Registerer: reg}})
	ctx := context.Background()
	for range 3 {
		if _, err := e.call(ctx, "echo", `{"a":1}`); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if res, err := e.call(ctx, "fail", `{}`); err != nil || !res.Meta.IsError {
			t.Fatalf("fail: %v %+v", err, res.Meta)
		}
	}
	if _, err := e.call(ctx, "no_such_tool", `{}`); err == nil {
		t.Fatal("an unknown tool was called")
	}
	if _, err := e.call(ctx, "echo", `[1]`); err == nil {
		t.Fatal("arguments that are not an object were accepted")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var rps float64
	for _, f := range families {
		switch f.GetName() {
		case "mcp_bridge_errors_total":
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if v := m.GetCounter().GetValue(); v != 0 {
					got[labels["type"]+"/"+labels["severity"]] = v
				}
			}
		case "mcp_bridge_requests_per_second":
			rps = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	want := map[string]float64{"tool_error/warning": 2, "unknown_tool/warning": 1, "invalid_request/warning": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mcp_bridge_errors_total (-want +got):\n%s", diff)
	}
	// Seven calls over the time since start (at least a second).
	if rps <= 0 || rps > 7 {
		t.Errorf("mcp_bridge_requests_per_second = %v, want in (0, 7]", rps)
	}
}
