package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// The bridge answers a read through Do, feeds its Home Assistant events to
// OnEvent, and reports completed writes with Wrote.
func Example() {
	c, err := cache.New(cache.Config{Reachable: func() bool { return true }})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	state := "off"
	child := func(context.Context) (json.RawMessage, error) { // bridge.Call's queue -> pool path
		return json.RawMessage(`{"content":[{"type":"text","text":"light.kitchen: ` + state + `"}]}`), nil
	}
	ctl, _ := cache.ParseControl("max-age=30") // the caller's X-Cache-Control
	read := cache.Query{Tool: "get_entity_state", Args: json.RawMessage(`{"entity_id":"light.kitchen"}`), Control: ctl}

	a, _ := c.Do(ctx, read, child)
	fmt.Println(string(a.Raw), a.Cached, a.Stored)
	a, _ = c.Do(ctx, read, child)
	fmt.Println("cached:", a.Cached, "level:", a.Level, "ttl:", a.Expires.Sub(time.Now().Add(-a.Age)).Round(time.Second))

	state = "on" // call_service light.turn_on ran on a child
	c.Wrote(ctx, "call_service", json.RawMessage(`{"domain":"light","service":"turn_on","entity_id":"light.kitchen"}`))
	a, _ = c.Do(ctx, read, child)
	fmt.Println(string(a.Raw), a.Cached)
	// Output:
	// {"content":[{"type":"text","text":"light.kitchen: off"}]} false true
	// cached: true level: l1 ttl: 10s
	// {"content":[{"type":"text","text":"light.kitchen: on"}]} false
}
