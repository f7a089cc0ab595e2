package pool_test

import (
	"encoding/json"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// TestSubscriptionCounted keeps a child subscribed while any subscriber
// is left: the pool serves several MCP front ends (the API port and
// Ingress), each counting its own clients, so one front end's last
// unsubscribe must not end the other's subscription.
func TestSubscriptionCounted(t *testing.T) {
	h := newHarness(t, pooltest.ChildOptions{}, nil)
	params := json.RawMessage(`{"uri":"` + pooltest.WatchedURI + `"}`)
	for range 2 {
		if _, err := h.p.Call(t.Context(), "resources/subscribe", params); err != nil {
			t.Fatal(err)
		}
	}
	unsubscribed := func() int {
		return len(pooltest.Filter(h.readEvents(t), func(e pooltest.Event) bool { return e.Kind == "unsubscribed" }))
	}
	if _, err := h.p.Call(t.Context(), "resources/unsubscribe", params); err != nil {
		t.Fatal(err)
	}
	if n := unsubscribed(); n != 0 {
		t.Fatalf("the child was unsubscribed with one subscriber left")
	}
	if _, err := h.p.Call(t.Context(), "resources/unsubscribe", params); err != nil {
		t.Fatal(err)
	}
	if n := unsubscribed(); n != 1 {
		t.Errorf("%d unsubscribes reached the child after the last subscriber left; want 1", n)
	}
}
