package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

func TestDoCachesByPolicy(t *testing.T) {
	tests := []struct {
		name       string
		tool       string
		a, b       string // two spellings of arguments
		wantCached bool
	}{
		{"state", "get_entity_state", `{"entity_id":"light.kitchen"}`, `{ "entity_id" : "light.kitchen" }`, true},
		{"list, key order", "get_entities", `{"domain":"light","state":"on"}`, `{"state":"on","domain":"light"}`, true},
		{"tools/list", cache.ToolsList, ``, `null`, true},
		{"write", "call_service", `{"domain":"light","service":"toggle"}`, `{"domain":"light","service":"toggle"}`, false},
		{"unknown tool", "render_template", `{"template":"{{ now() }}"}`, `{"template":"{{ now() }}"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, cache.Config{})
			f := &counter{}
			first := do(t, c, q(tt.tool, tt.a), f.fill)
			second := do(t, c, q(tt.tool, tt.b), f.fill)
			if got, want := second.Cached, tt.wantCached; got != want {
				t.Errorf("second call cached = %v; want %v", got, want)
			}
			if got, want := f.n.Load(), map[bool]int64{true: 1, false: 2}[tt.wantCached]; got != want {
				t.Errorf("fills = %d; want %d", got, want)
			}
			if tt.wantCached && (!first.Stored || first.Expires.IsZero() || second.Expires != first.Expires) {
				t.Errorf("first stored %v expires %v, second expires %v; want stored with one expiry", first.Stored, first.Expires, second.Expires)
			}
		})
	}
}

func TestProfileVariesKey(t *testing.T) {
	c := newCache(t, cache.Config{})
	f := &counter{}
	a := q("get_entities", `{}`)
	b := a
	b.Profile = "readonly"
	do(t, c, a, f.fill)
	if got := do(t, c, b, f.fill); got.Cached {
		t.Errorf("answer for profile %q served to profile %q", a.Profile, b.Profile)
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		f := &counter{}
		query := q("get_entity_state", `{"entity_id":"sensor.t"}`)
		do(t, c, query, f.fill)
		time.Sleep(9 * time.Second)
		if a := do(t, c, query, f.fill); !a.Cached || a.Age != 9*time.Second {
			t.Errorf("after 9s: cached %v age %v; want cached, 9s old", a.Cached, a.Age)
		}
		time.Sleep(time.Second)
		if a := do(t, c, query, f.fill); a.Cached {
			t.Errorf("after 10s (the TTL): cached; want a fill")
		}
		if got := c.Stats().Evictions; got != 1 {
			t.Errorf("evictions = %d; want 1 (expired)", got)
		}
	})
}

func TestControl(t *testing.T) {
	tests := []struct {
		header     string
		age        time.Duration // of the cached entry when asked
		wantCached bool
		wantStored bool // the fill, if any, is stored
	}{
		{header: "", age: 5 * time.Second, wantCached: true},
		{header: "max-age=10", age: 5 * time.Second, wantCached: true},
		{header: "max-age=3", age: 5 * time.Second, wantCached: false, wantStored: true},
		{header: "max-age=0", age: 0, wantCached: false, wantStored: true},
		{header: "no-cache", age: time.Second, wantCached: false, wantStored: true},
		{header: "no-store", age: time.Second, wantCached: true},
		{header: "no-cache, no-store", age: time.Second, wantCached: false, wantStored: false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCache(t, cache.Config{})
				f := &counter{}
				query := q("get_entities", `{"domain":"light"}`)
				do(t, c, query, f.fill)
				time.Sleep(tt.age)
				ctl, err := cache.ParseControl(tt.header)
				if err != nil {
					t.Fatal(err)
				}
				query.Control = ctl
				a := do(t, c, query, f.fill)
				if a.Cached != tt.wantCached || (!a.Cached && a.Stored != tt.wantStored) {
					t.Errorf("cached %v stored %v; want cached %v stored %v", a.Cached, a.Stored, tt.wantCached, tt.wantStored)
				}
				if !a.Cached {
					// What the uncached call left is what the next plain call gets.
					next := do(t, c, q("get_entities", `{"domain":"light"}`), f.fill)
					if got := string(next.Raw) == string(a.Raw); got != tt.wantStored {
						t.Errorf("next call got the fresh answer = %v; want %v", got, tt.wantStored)
					}
				}
			})
		})
	}
}

func TestToolErrorsAndFailuresNotStored(t *testing.T) {
	c := newCache(t, cache.Config{})
	query := q("get_entity_state", `{"entity_id":"light.nope"}`)
	toolErr := json.RawMessage(`{"content":[{"type":"text","text":"no such entity"}],"isError":true}`)
	for range 2 {
		a := do(t, c, query, func(context.Context) (json.RawMessage, error) { return toolErr, nil })
		if a.Cached || a.Stored {
			t.Errorf("tool error: cached %v stored %v; want neither", a.Cached, a.Stored)
		}
	}
	boom := errors.New("boom")
	if _, err := c.Do(t.Context(), query, func(context.Context) (json.RawMessage, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("Do error = %v; want the fill's", err)
	}
}

func TestConcurrentMissesFillOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		release := make(chan struct{})
		f := &counter{}
		fill := func(ctx context.Context) (json.RawMessage, error) {
			<-release
			return f.fill(ctx)
		}
		const n = 50
		answers := make([]cache.Answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { answers[i] = do(t, c, q("get_entities", `{"domain":"light"}`), fill) })
		}
		synctest.Wait() // every caller is in Do: one filling, the others waiting
		close(release)
		wg.Wait()
		if got := f.n.Load(); got != 1 {
			t.Errorf("fills = %d; want 1", got)
		}
		shared := 0
		for _, a := range answers {
			if string(a.Raw) != string(answers[0].Raw) {
				t.Fatalf("answers differ: %s vs %s", a.Raw, answers[0].Raw)
			}
			if a.Shared {
				shared++
			}
		}
		if shared != n-1 {
			t.Errorf("shared answers = %d; want %d", shared, n-1)
		}
	})
}

func TestLeaderCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		started := make(chan struct{})
		leaderCtx, cancel := context.WithCancel(t.Context())
		go func() {
			_, err := c.Do(leaderCtx, q("get_entities", `{}`), func(ctx context.Context) (json.RawMessage, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("leader error = %v; want Canceled", err)
			}
		}()
		<-started
		var got cache.Answer
		done := make(chan struct{})
		go func() {
			defer close(done)
			got = do(t, c, q("get_entities", `{}`), (&counter{}).fill)
		}()
		synctest.Wait()
		cancel()
		<-done
		if got.Raw == nil || got.Shared {
			t.Errorf("joiner after the leader left: %s shared %v; want its own fill", got.Raw, got.Shared)
		}
	})
}

func TestFillPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, cache.Config{})
		release := make(chan struct{})
		go func() {
			defer func() {
				if recover() == nil {
					t.Error("the fill's panic did not reach the caller that ran it")
				}
			}()
			c.Do(context.Background(), q("get_entities", `{}`), func(context.Context) (json.RawMessage, error) {
				<-release
				panic("boom")
			})
		}()
		synctest.Wait()
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = c.Do(context.Background(), q("get_entities", `{}`), (&counter{}).fill)
		}()
		synctest.Wait()
		close(release)
		<-done
		if !errors.Is(err, cache.ErrFillPanicked) {
			t.Errorf("joiner error = %v; want ErrFillPanicked", err)
		}
		do(t, c, q("get_entities", `{}`), (&counter{}).fill) // the key is usable again
	})
}

func TestLRUBounds(t *testing.T) {
	answer := func(size int) func(int64) json.RawMessage {
		return func(n int64) json.RawMessage {
			return result(map[string]any{"n": n, "pad": strings.Repeat("x", size)})
		}
	}
	t.Run("entries", func(t *testing.T) {
		c := newCache(t, cache.Config{MaxSize: 3})
		f := &counter{answer: answer(10)}
		key := func(id string) cache.Query { return q("get_entity_state", `{"entity_id":"`+id+`"}`) }
		for _, id := range []string{"a.1", "a.2", "a.3"} {
			do(t, c, key(id), f.fill)
		}
		do(t, c, key("a.1"), f.fill) // a.2 is now the least recently used
		do(t, c, key("a.4"), f.fill)
		if s := c.Stats(); s.Size != 3 || s.Evictions != 1 {
			t.Errorf("size %d evictions %d; want 3, 1", s.Size, s.Evictions)
		}
		for id, want := range map[string]bool{"a.1": true, "a.2": false, "a.3": true, "a.4": true} {
			// Peek with max-age: a miss would fill and evict again, so
			// check in an order that keeps the set: hits only touch.
			if !want {
				continue
			}
			if a := do(t, c, key(id), f.fill); !a.Cached {
				t.Errorf("%s evicted; want kept", id)
			}
		}
		if a := do(t, c, key("a.2"), f.fill); a.Cached {
			t.Errorf("a.2 kept; want it evicted as the least recently used")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		const maxBytes = 5000
		c := newCache(t, cache.Config{MaxBytes: maxBytes})
		f := &counter{answer: answer(1000)}
		for i := range 20 {
			do(t, c, q("get_entities", `{"offset":`+string(rune('0'+i%10))+`,"limit":`+string(rune('0'+i/10))+`}`), f.fill)
			if s := c.Stats(); s.Bytes > maxBytes {
				t.Fatalf("after %d fills: %d bytes; want at most %d", i+1, s.Bytes, maxBytes)
			}
		}
		if s := c.Stats(); s.Size != 3 || s.Evictions != 17 {
			t.Errorf("size %d evictions %d; want 3 entries of ~1.3 KB, 17 evicted", s.Size, s.Evictions)
		}
		big := &counter{answer: answer(maxBytes)}
		if a := do(t, c, q("get_entities", `{"search":"big"}`), big.fill); a.Stored {
			t.Errorf("an answer larger than MaxBytes was stored")
		}
	})
}

func TestDisabled(t *testing.T) {
	c := newCache(t, cache.Config{Disabled: true})
	f := &counter{}
	do(t, c, q("get_entities", `{}`), f.fill)
	if a := do(t, c, q("get_entities", `{}`), f.fill); a.Cached {
		t.Error("disabled cache answered from the cache")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  cache.Config
		ok   bool
	}{
		{"zero", cache.Config{}, true},
		{"negative size", cache.Config{MaxSize: -1}, false},
		{"negative ttl", cache.Config{Policies: map[string]cache.Policy{"x": {TTL: -time.Second}}}, false},
		{"bad fallback", cache.Config{Policies: map[string]cache.Policy{"x": {Fallback: "guess"}}}, false},
		{"bad redis url", cache.Config{RedisURL: "http://x"}, false},
	}
	for _, tt := range tests {
		_, err := cache.New(tt.cfg)
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: New error = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestPeek: Peek answers from L1 only, for any spelling of the arguments,
// never fills, and honours no-cache and a dropped connection.
func TestPeek(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	c := newCache(t, cache.Config{MaxSize: 4, Connected: up.Load, Settle: -1})
	f := &counter{}
	read := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
	if _, ok := c.Peek(read); ok {
		t.Fatal("Peek answered an empty cache")
	}
	want := do(t, c, read, f.fill)
	for i := range 20 { // more spellings than MaxSize: the shortcut stays bounded and right
		spelled := q("get_entity_state", fmt.Sprintf(`{ "entity_id" : "light.kitchen" %s}`, strings.Repeat(" ", i)))
		a, ok := c.Peek(spelled)
		if !ok || !a.Cached || string(a.Raw) != string(want.Raw) {
			t.Fatalf("Peek(%s) = %s, %v; want the cached answer", spelled.Args, a.Raw, ok)
		}
	}
	if _, ok := c.Peek(q("get_entity_state", `{"entity_id":"light.hall"}`)); ok {
		t.Error("Peek answered other arguments")
	}
	noCache := read
	noCache.Control = cache.Control{NoCache: true}
	if _, ok := c.Peek(noCache); ok {
		t.Error("Peek answered a no-cache read")
	}
	up.Store(false)
	if _, ok := c.Peek(read); ok || !c.Paused() {
		t.Error("Peek answered after the connection dropped")
	}
	if f.n.Load() != 1 {
		t.Errorf("%d fills; Peek must never fill", f.n.Load())
	}
}
