package cache_test

import (
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

func TestFallback(t *testing.T) {
	down := errors.New("no child")
	tests := []struct {
		name      string
		reachable func() bool
		filled    bool // the query was answered (then invalidated) before
		query     cache.Query
		wantOK    bool
		wantLast  bool   // the last answer, with its age
		wantEmpty string // else a structuredContent member that shows the empty/minimal answer
	}{
		{"last list", func() bool { return false }, true, q("get_entities", `{"domain":"light"}`), true, true, ""},
		{"empty list", func() bool { return false }, false, q("get_entities", `{"domain":"light"}`), true, false, "entities"},
		{"minimal services", func() bool { return false }, false, q("get_services", `{}`), true, false, "domains"},
		{"last services", func() bool { return false }, true, q("get_services", `{}`), true, true, ""},
		{"last state", func() bool { return false }, true, q("get_entity_state", `{"entity_id":"light.a"}`), true, true, ""},
		{"no state", func() bool { return false }, false, q("get_entity_state", `{"entity_id":"light.a"}`), false, false, ""},
		{"write fails fast", func() bool { return false }, true, q("call_service", `{"domain":"light","service":"turn_on"}`), false, false, ""},
		{"reachable: never stale", func() bool { return true }, true, q("get_entities", `{"domain":"light"}`), false, false, ""},
		{"no reachability", nil, true, q("get_entities", `{"domain":"light"}`), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCache(t, cache.Config{Reachable: tt.reachable})
				var last cache.Answer
				if tt.filled {
					last = do(t, c, tt.query, (&counter{}).fill)
					c.Flush(t.Context()) // invalidation does not erase the last answer
					time.Sleep(42 * time.Second)
				}
				a, ok := c.Fallback(tt.query, down)
				if ok != tt.wantOK {
					t.Fatalf("Fallback ok = %v; want %v", ok, tt.wantOK)
				}
				if !ok {
					return
				}
				if !a.Stale || a.Cached {
					t.Errorf("stale %v cached %v; want a stale answer", a.Stale, a.Cached)
				}
				if tt.wantLast && (string(a.Raw) != string(last.Raw) || a.Age != 42*time.Second) {
					t.Errorf("got %s aged %v; want the last answer %s aged 42s", a.Raw, a.Age, last.Raw)
				}
				if tt.wantEmpty != "" {
					var r struct {
						SC map[string]json.RawMessage `json:"structuredContent"`
					}
					if err := json.Unmarshal(a.Raw, &r); err != nil || r.SC[tt.wantEmpty] == nil {
						t.Errorf("got %s; want a structuredContent with %q", a.Raw, tt.wantEmpty)
					}
				}
			})
		})
	}
}

func TestStatsAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := newCache(t, cache.Config{Registerer: reg, MaxSize: 2})
	f := &counter{}
	for _, args := range []string{`{"entity_id":"a.1"}`, `{"entity_id":"a.1"}`, `{"entity_id":"a.2"}`, `{"entity_id":"a.3"}`} {
		do(t, c, q("get_entity_state", args), f.fill)
	}
	c.OnEvent(stateEvent("a.3", "1", "2", time.Now()))
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 3 || s.HitRate != 0.25 || s.Size != 1 || s.Evictions != 1 || s.Invalidations != 1 || s.L2 != "off" {
		t.Errorf("Stats() = %+v; want 1 hit, 3 misses, rate 0.25, size 1, 1 eviction, 1 invalidation, l2 off", s)
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mcp_bridge_cache_hits_total", []string{"l1"}, 1},
		{"mcp_bridge_cache_misses_total", []string{"l1"}, 3},
		{"mcp_bridge_cache_evictions_total", []string{"size"}, 1},
		{"mcp_bridge_cache_invalidations_total", []string{"state_changed"}, 1},
		{"mcp_bridge_cache_fills_total", []string{"stored"}, 3},
		{"mcp_bridge_cache_entries", nil, 1},
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got, found := -1.0, false
		for _, mf := range mfs {
			if mf.GetName() != tt.name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if len(tt.labels) > 0 && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != tt.labels[0]) {
					continue
				}
				found = true
				if m.GetCounter() != nil {
					got = m.GetCounter().GetValue()
				} else {
					got = m.GetGauge().GetValue()
				}
			}
		}
		if !found || got != tt.want {
			t.Errorf("%s%v = %v (found %v); want %v", tt.name, tt.labels, got, found, tt.want)
		}
	}
}
