package pool_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) { c.Registerer = reg })
	runEchoes(t, h.p, 3)
	if _, err := callTool(t.Context(), h.p, "crash", nil); err == nil {
		t.Fatal("crash succeeded")
	}
	counterPid(t, h.p) // waits for the replacement
	h.waitStats(t, "an idle child", func(s pool.Stats) bool { return s.Idle == 1 })

	got := gather(t, reg)
	want := map[string]float64{
		"mcp_bridge_pool_restarts_total":              1,
		"mcp_bridge_pool_start_failures_total":        0,
		"mcp_bridge_pool_waiting_calls":               0,
		`mcp_bridge_pool_sessions{state="backoff"}`:   0,
		`mcp_bridge_pool_sessions{state="busy"}`:      0,
		`mcp_bridge_pool_sessions{state="draining"}`:  0,
		`mcp_bridge_pool_sessions{state="idle"}`:      1,
		`mcp_bridge_pool_sessions{state="starting"}`:  0,
		`mcp_bridge_pool_sessions{state="stopping"}`:  0,
		`mcp_bridge_pool_sessions{state="unhealthy"}`: 0,
		"mcp_bridge_pool_call_duration_seconds_count": 4, // 3 echoes and the counter; the crash got no answer
		"mcp_bridge_pool_utilization_ratio":           0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if _, err := pool.New(pool.Config{Command: []string{"x"}, Registerer: reg}); err == nil {
		t.Error("a second pool registered the same metrics")
	}
}

// TestUtilization checks mcp_bridge_pool_utilization_ratio against calls
// in flight: one slow call on a child that takes four is a quarter.
func TestUtilization(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := newHarness(t, pooltest.ChildOptions{}, func(c *pool.Config) { c.Registerer = reg; c.MaxInflightPerSession = 4 })
	runEchoes(t, h.p, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		callTool(ctx, h.p, "slow_read", map[string]any{"ms": 60000})
	}()
	h.waitStats(t, "a busy child", func(s pool.Stats) bool { return s.Busy == 1 })
	if got := gather(t, reg)["mcp_bridge_pool_utilization_ratio"]; got != 0.25 {
		t.Errorf("utilization with 1 of 4 calls in flight = %v, want 0.25", got)
	}
	cancel()
	<-done
	h.waitStats(t, "an idle child", func(s pool.Stats) bool { return s.Idle == 1 })
	if got := gather(t, reg)["mcp_bridge_pool_utilization_ratio"]; got != 0 {
		t.Errorf("utilization with no call in flight = %v, want 0", got)
	}
}

// gather flattens the registry into name{label="v"} -> value; histograms
// give their sample count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + `="` + l.GetValue() + `"}`
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
