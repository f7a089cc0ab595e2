package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// cachedSet fills every query in qs and returns a function that reports,
// in qs order, which are still cached (without refilling the others).
func cachedSet(t *testing.T, c *cache.Cache, qs map[string]cache.Query) func() []string {
	t.Helper()
	f := &counter{}
	for _, query := range qs {
		do(t, c, query, f.fill)
	}
	return func() []string {
		var kept []string
		for name, query := range qs {
			query.Control = cache.Control{NoStore: true} // a miss leaves nothing behind
			if a := do(t, c, query, f.fill); a.Cached {
				kept = append(kept, name)
			}
		}
		slices.Sort(kept)
		return kept
	}
}

func TestStateChangedReachesDependents(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := map[string]cache.Query{
		"lights on":         q("get_entities", `{"domain":"light","state":"on"}`),
		"lights on kitchen": q("get_entities", `{"domain":"light","state":"ON","area":"kitchen"}`),
		"switches":          q("get_entities", `{"domain":"switch"}`),
		"search kitchen":    q("get_entities", `{"search":"Kitchen"}`),
		"kitchen state":     q("get_entity_state", `{"entity_id":"light.kitchen"}`),
		"kitchen history":   q("get_history", `{"entity_id":["sensor.t","light.kitchen"]}`),
		"areas":             q("list_areas", `{}`),
		"services":          q("get_services", `{}`),
		"tools":             q(cache.ToolsList, ``),
	}
	all := []string{"areas", "kitchen history", "kitchen state", "lights on", "lights on kitchen", "search kitchen", "services", "switches", "tools"}
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(names, s) })
	}
	tests := []struct {
		name string
		ev   cache.Event
		want []string // still cached afterwards
	}{
		{"kitchen light turns on", stateEvent("light.kitchen", "off", "on", at),
			without("lights on", "lights on kitchen", "search kitchen", "kitchen state", "kitchen history")},
		{"kitchen light turns off", stateEvent("light.kitchen", "on", "off", at),
			without("lights on", "lights on kitchen", "search kitchen", "kitchen state", "kitchen history")},
		{"hall light dims while on", stateEvent("light.hall", "on", "on", at), without("lights on", "lights on kitchen")},
		{"hall light off, attribute change", stateEvent("light.hall", "off", "off", at), all},
		{"unrelated sensor", stateEvent("sensor.hall_temperature", "20", "21", at), all},
		{"history entity", stateEvent("sensor.t", "20", "21", at), without("kitchen history")},
		{"switch added", stateEvent("switch.fan", "", "off", at), without("switches", "areas")},
		{"service registered", cache.Event{Type: "service_registered", Time: at}, without("services")},
		{"area registry", cache.Event{Type: "area_registry_updated", Time: at},
			without("areas", "lights on", "lights on kitchen", "switches", "search kitchen", "kitchen state", "kitchen history")},
		{"unreadable state_changed", cache.Event{Type: "state_changed", Data: json.RawMessage(`{"entity_id":7}`)}, []string{"services", "tools"}},
		{"other event", cache.Event{Type: "call_service", Time: at}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, cache.Config{})
			kept := cachedSet(t, c, entries)
			c.OnEvent(tt.ev)
			if got := kept(); !slices.Equal(got, tt.want) {
				t.Errorf("kept %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestInvalidateTagAndFlush(t *testing.T) {
	entries := map[string]cache.Query{
		"tools":  q(cache.ToolsList, ``),
		"state":  q("get_entity_state", `{"entity_id":"light.kitchen"}`),
		"search": q("get_entities", `{"search":"x"}`),
	}
	tests := []struct {
		name string
		op   func(*cache.Cache)
		want []string
	}{
		{"tools changed", func(c *cache.Cache) { c.InvalidateTag(context.Background(), cache.TagTools) }, []string{"search", "state"}},
		{"entity", func(c *cache.Cache) { c.InvalidateEntity(context.Background(), "Light.Kitchen") }, []string{"tools"}},
		{"flush", func(c *cache.Cache) { c.Flush(context.Background()) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, cache.Config{})
			kept := cachedSet(t, c, entries)
			tt.op(c)
			if got := kept(); !slices.Equal(got, tt.want) {
				t.Errorf("kept %v; want %v", got, tt.want)
			}
		})
	}
}

func TestWriteInvalidatesTargets(t *testing.T) {
	entries := map[string]cache.Query{
		"kitchen": q("get_entity_state", `{"entity_id":"light.kitchen"}`),
		"hall":    q("get_entity_state", `{"entity_id":"light.hall"}`),
		"fan":     q("get_entity_state", `{"entity_id":"fan.attic"}`),
		"lights":  q("get_entities", `{"domain":"light","state":"off"}`),
		"tools":   q(cache.ToolsList, ``),
	}
	tests := []struct {
		tool, args string
		want       []string
	}{
		{"call_service", `{"domain":"light","service":"turn_on","entity_id":"light.kitchen"}`, []string{"fan", "hall", "tools"}},
		{"call_service", `{"domain":"light","service":"turn_on","target":{"entity_id":["light.kitchen","fan.attic"]}}`, []string{"hall", "tools"}},
		{"call_service", `{"domain":"light","service":"turn_on","target":{"area_id":"kitchen"}}`, []string{"tools"}},
		{"toggle_automation", `{"entity_id":"automation.porch"}`, []string{"fan", "hall", "kitchen", "lights", "tools"}},
		{"create_automation", `{"config":{"alias":"x"}}`, []string{"tools"}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			c := newCache(t, cache.Config{})
			kept := cachedSet(t, c, entries)
			c.Wrote(t.Context(), tt.tool, json.RawMessage(tt.args))
			if got := kept(); !slices.Equal(got, tt.want) {
				t.Errorf("kept %v; want %v", got, tt.want)
			}
		})
	}
}

// home is a fake Home Assistant seen through a child: the child's answers
// reflect whatever it has applied, which a test sets.
type home struct {
	state string
	at    time.Time
}

func (h *home) answer(context.Context) (json.RawMessage, error) {
	return result(map[string]any{"entity_id": "light.kitchen", "state": h.state, "last_updated": h.at}), nil
}

func TestWriteThenReadGetsNewState(t *testing.T) {
	c := newCache(t, cache.Config{})
	h := &home{state: "off", at: time.Unix(100, 0)}
	read := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
	do(t, c, read, h.answer)
	// The write: the child that ran it waited for the change, so its view
	// (and Home Assistant) have it; the bridge's event has not arrived.
	h.state, h.at = "on", time.Unix(101, 0)
	c.Wrote(t.Context(), "call_service", json.RawMessage(`{"domain":"light","service":"turn_on","entity_id":"light.kitchen"}`))
	a := do(t, c, read, h.answer)
	var got struct {
		SC struct{ State string } `json:"structuredContent"`
	}
	if err := json.Unmarshal(a.Raw, &got); err != nil || got.SC.State != "on" || a.Cached {
		t.Errorf("read right after the write: %s (cached %v); want the new state, filled", a.Raw, a.Cached)
	}
}

func TestFillOverlappingInvalidationNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		read := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
		release := make(chan struct{})
		started := make(chan struct{})
		var first cache.Answer
		go func() {
			first = do(t, c, read, func(ctx context.Context) (json.RawMessage, error) {
				close(started)
				<-release // the child read its view before the event...
				return (&home{state: "off"}).answer(ctx)
			})
		}()
		<-started
		c.OnEvent(stateEvent("light.kitchen", "off", "on", time.Time{})) // ...which reaches the bridge now
		// A caller arriving after the event does not join the doomed fill.
		second := do(t, c, read, (&home{state: "on", at: time.Unix(1, 0)}).answer)
		close(release)
		synctest.Wait()
		if first.Stored || second.Shared || !second.Stored {
			t.Errorf("overlapping fill stored %v; later caller shared %v stored %v; want false, false, true", first.Stored, second.Shared, second.Stored)
		}
		if a := do(t, c, read, (&home{state: "stale"}).answer); !a.Cached || string(a.Raw) != string(second.Raw) {
			t.Errorf("cache holds %s; want the later fill's answer", a.Raw)
		}
	})
}

func TestPauseFlushesAndResumes(t *testing.T) {
	for _, resume := range []string{"Resume", "Missed event"} {
		t.Run(resume, func(t *testing.T) {
			c := newCache(t, cache.Config{Settle: -1})
			f := &counter{}
			state := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
			tools := q(cache.ToolsList, ``)
			do(t, c, state, f.fill)
			do(t, c, tools, f.fill)
			c.Pause()
			if !c.Stats().Paused {
				t.Fatal("Stats().Paused = false after Pause")
			}
			for i := range 3 {
				if a := do(t, c, state, f.fill); a.Cached || a.Stored {
					t.Errorf("paused read %d: cached %v stored %v; want a fill, not stored", i, a.Cached, a.Stored)
				}
			}
			if a := do(t, c, tools, f.fill); !a.Cached {
				t.Error("paused: tools/list (not from Home Assistant) was flushed")
			}
			if resume == "Resume" {
				c.Resume()
			} else {
				c.OnEvent(cache.Event{Missed: true})
			}
			do(t, c, state, f.fill)
			if a := do(t, c, state, f.fill); !a.Cached {
				t.Error("after resync: not cached")
			}
		})
	}
}

func TestRunFollowsConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var up atomic.Bool
		up.Store(true)
		c := newCache(t, cache.Config{Connected: up.Load, Settle: -1})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		f := &counter{}
		read := q("get_entities", `{"domain":"light"}`)
		do(t, c, read, f.fill)
		up.Store(false) // the bridge's connection to Home Assistant drops
		time.Sleep(cache.DefaultConnectedInterval)
		synctest.Wait()
		if !c.Paused() {
			t.Fatal("not paused after the connection dropped")
		}
		if _, ok := c.Get(ctx, read); ok {
			t.Error("entry kept after the connection dropped")
		}
		up.Store(true) // reconnected; hass re-subscribes and sends Missed
		time.Sleep(cache.DefaultConnectedInterval)
		synctest.Wait()
		if !c.Paused() {
			t.Error("resumed before the Missed event")
		}
		c.OnEvent(cache.Event{Type: "state_changed", Missed: true})
		if c.Paused() {
			t.Error("still paused after the Missed event")
		}
		cancel()
		<-done
	})
}

func TestPauseDoomsRunningFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		read := q("get_entities", `{"domain":"light"}`)
		release := make(chan struct{})
		var a cache.Answer
		go func() {
			a = do(t, c, read, func(ctx context.Context) (json.RawMessage, error) {
				<-release
				return result(map[string]any{}), nil
			})
		}()
		synctest.Wait()
		c.Pause()
		c.Resume()
		close(release)
		synctest.Wait()
		if a.Stored {
			t.Error("a fill that spanned a dropped subscription was stored")
		}
	})
}

func TestSettle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		f := &counter{} // answers without a view time
		read := q("get_entities", `{"domain":"light"}`)
		c.OnEvent(stateEvent("light.kitchen", "off", "on", time.Unix(1, 0)))
		if a := do(t, c, read, f.fill); a.Stored {
			t.Error("a fill right after an event it depends on was stored; the child may not have seen the event")
		}
		if a := do(t, c, q(cache.ToolsList, ``), f.fill); !a.Stored {
			t.Error("tools/list (not from Home Assistant) was held back")
		}
		time.Sleep(cache.DefaultSettle)
		if a := do(t, c, read, f.fill); !a.Stored {
			t.Error("a fill after the settle time was not stored")
		}
	})
}

func TestLaggingChildNeverCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		read := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
		c.OnEvent(stateEvent("light.kitchen", "off", "on", time.Unix(200, 0)))
		stuck := &home{state: "off", at: time.Unix(100, 0)} // its connection to HA is down
		start := time.Now()
		_, err := c.Do(t.Context(), read, stuck.answer)
		if !errors.Is(err, cache.ErrViewBehind) {
			t.Fatalf("Do error = %v; want ErrViewBehind", err)
		}
		if waited := time.Since(start); waited > cache.DefaultMaxLagWait {
			t.Errorf("gave up after %v; want at most MaxLagWait (%v)", waited, cache.DefaultMaxLagWait)
		}
		if _, ok := c.Get(t.Context(), read); ok {
			t.Error("a lagging answer was stored")
		}
		caughtUp := &home{state: "on", at: time.Unix(200, 0)}
		if a := do(t, c, read, caughtUp.answer); !a.Stored {
			t.Error("an answer as new as the event was not stored")
		}
	})
}

// FuzzOnEvent feeds arbitrary event data: the cache must not panic, and an
// event it cannot read must not leave dependent entries behind.
func FuzzOnEvent(f *testing.F) {
	f.Add("state_changed", []byte(`{"entity_id":"light.kitchen","old_state":{"state":"off"},"new_state":{"state":"on","attributes":{"friendly_name":"K"}}}`))
	f.Add("state_changed", []byte(`{"entity_id":"light.kitchen","old_state":null,"new_state":{"state":"on","last_updated":"2026-01-01T00:00:00Z","attributes":{"friendly_name":7,"device_class":null}}}`))
	f.Add("state_changed", []byte(`{"entity_id":"","new_state":[]}`))
	f.Add("service_registered", []byte(`{}`))
	f.Add("area_registry_updated", []byte(`null`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		c := newCache(t, cache.Config{})
		read := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
		do(t, c, read, (&counter{}).fill)
		c.OnEvent(cache.Event{Type: typ, Data: data})
		var d struct {
			EntityID string `json:"entity_id"`
		}
		if typ == "state_changed" && (json.Unmarshal(data, &d) != nil || strings.EqualFold(d.EntityID, "light.kitchen")) {
			if _, ok := c.Get(t.Context(), read); ok {
				t.Errorf("state_changed %s left light.kitchen's entry", data)
			}
		}
	})
}

// TestReadNoticesDrop: a read that finds the connection down pauses and
// flushes at once, without waiting for Run's poll (Run is not running).
func TestReadNoticesDrop(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	c := newCache(t, cache.Config{Connected: up.Load, Settle: -1})
	f := &counter{}
	read, tools := q("get_entity_state", `{"entity_id":"light.kitchen"}`), cache.Query{Tool: cache.ToolsList}
	do(t, c, read, f.fill)
	do(t, c, tools, f.fill)
	if _, ok := c.Get(t.Context(), read); !ok {
		t.Fatal("not cached while connected")
	}
	up.Store(false)
	if _, ok := c.Get(t.Context(), tools); !ok || c.Paused() {
		t.Errorf("tools/list: cached %v, paused %v; want cached, not paused (it does not depend on Home Assistant)", ok, c.Paused())
	}
	if _, ok := c.Get(t.Context(), read); ok || !c.Paused() {
		t.Errorf("after the drop: cached %v, paused %v; want a miss and paused", ok, c.Paused())
	}
	up.Store(true)
	if a := do(t, c, read, f.fill); a.Cached || a.Stored {
		t.Errorf("before the Missed event: cached %v, stored %v; want neither", a.Cached, a.Stored)
	}
	c.OnEvent(cache.Event{Type: "state_changed", Missed: true})
	do(t, c, read, f.fill)
	if a := do(t, c, read, f.fill); !a.Cached {
		t.Error("caching did not resume after the Missed event")
	}
}
