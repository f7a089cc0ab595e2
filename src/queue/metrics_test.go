package queue

import (
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather returns the registry's metrics as "name{label=value}" -> value;
// histograms give their sample count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				got[name] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				got[name] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				got[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}

func TestMetricsAndStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		q := newQueue(t, Config{MaxSize: 3, Registerer: reg})
		release := blockWith(t, q)
		var rec recorder
		chans := []<-chan result{
			submit(t.Context(), q, Job{Priority: High, DedupKey: "d", Run: rec.run("d")}),
			submit(t.Context(), q, Job{Priority: High, DedupKey: "d", Run: rec.run("d")}),
			submit(t.Context(), q, Job{Priority: Bulk, IdempotencyKey: "i", Run: rec.run("i")}),
			submit(t.Context(), q, Job{Priority: Bulk, IdempotencyKey: "i", Run: rec.run("i")}),
			submit(t.Context(), q, rec.job("x", Low)),
		}
		if _, err := q.Do(t.Context(), rec.job("full", Low)); err == nil {
			t.Fatal("Do on a full queue succeeded")
		}
		st := q.Stats()
		wantPrio := map[string]int{"CRITICAL": 0, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "BULK": 1}
		if diff := cmp.Diff(wantPrio, st.ByPriority); diff != "" {
			t.Errorf("ByPriority (-want +got):\n%s", diff)
		}
		got := gather(t, reg)
		want := map[string]float64{
			"mcp_bridge_queue_pending":                        3,
			"mcp_bridge_queue_running":                        1,
			"mcp_bridge_queue_pending_max":                    3,
			"mcp_bridge_queue_wait_seconds":                   1,
			"mcp_bridge_queue_rejected_total{reason=closed}":  0,
			"mcp_bridge_queue_rejected_total{reason=full}":    1,
			"mcp_bridge_queue_rejected_total{reason=invalid}": 0,
			"mcp_bridge_queue_deduplicated_total":             1,
			"mcp_bridge_queue_replayed_total":                 1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		release()
		for _, ch := range chans {
			recv(t, ch)
		}
		st = q.Stats()
		wantCounters := Counters{Accepted: 4, Completed: 4, Rejected: 1, Deduplicated: 1, Replayed: 1}
		if diff := cmp.Diff(wantCounters, st.Counters); diff != "" {
			t.Errorf("Counters (-want +got):\n%s", diff)
		}
		if st.MaxSeen != 3 || st.Pending != 0 || st.Running != 0 {
			t.Errorf("MaxSeen, Pending, Running = %d, %d, %d; want 3, 0, 0", st.MaxSeen, st.Pending, st.Running)
		}
		if _, err := New(Config{Registerer: reg}); err == nil {
			t.Error("New with metrics already registered succeeded")
		}
	})
}
