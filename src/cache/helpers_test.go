package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// newCache returns a Cache for cfg and fails the test on error.
func newCache(t testing.TB, cfg cache.Config) *cache.Cache {
	t.Helper()
	c, err := cache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// result returns a CallToolResult with the given structured content.
func result(sc any) json.RawMessage {
	raw, err := json.Marshal(map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": "x"}},
		"structuredContent": sc,
	})
	if err != nil {
		panic(err)
	}
	return raw
}

// counter is a fill that counts its calls and answers what answer returns.
type counter struct {
	n      atomic.Int64
	answer func(n int64) json.RawMessage
}

func (f *counter) fill(context.Context) (json.RawMessage, error) {
	n := f.n.Add(1)
	if f.answer != nil {
		return f.answer(n), nil
	}
	return result(map[string]any{"n": n}), nil
}

func q(tool, args string) cache.Query { return cache.Query{Tool: tool, Args: json.RawMessage(args)} }

type doer interface {
	Do(context.Context, cache.Query, cache.FillFunc) (cache.Answer, error)
}

// do runs c.Do and fails the test on error.
func do(t testing.TB, c doer, query cache.Query, fill cache.FillFunc) cache.Answer {
	t.Helper()
	a, err := c.Do(context.Background(), query, fill)
	if err != nil {
		t.Fatalf("Do(%s %s): %v", query.Tool, query.Args, err)
	}
	return a
}

// stateEvent is a state_changed event for id from old to new (""
// meaning absent), with new's last_updated at.
func stateEvent(id, old, new string, at time.Time) cache.Event {
	st := func(s string) any {
		if s == "" {
			return nil
		}
		return map[string]any{"entity_id": id, "state": s, "last_updated": at,
			"attributes": map[string]any{"friendly_name": nameOf(id)}}
	}
	data, _ := json.Marshal(map[string]any{"entity_id": id, "old_state": st(old), "new_state": st(new)})
	return cache.Event{Type: "state_changed", Data: data, Time: at}
}

// nameOf is the friendly name tests give an entity: "Kitchen light" for light.kitchen.
func nameOf(id string) string {
	domain, obj, _ := cut(id)
	return fmt.Sprintf("%s %s", capitalize(obj), domain)
}

func cut(id string) (string, string, bool) {
	for i := range id {
		if id[i] == '.' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
