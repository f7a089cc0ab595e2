package tools

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func viewTimeOf(t *testing.T, res *mcp.CallToolResult) time.Time {
	t.Helper()
	s, _ := res.Meta[ViewTimeMeta].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("_meta %v: no view time: %v", res.Meta, err)
	}
	return at
}

// TestAnswersCarryViewTime checks that a read says how current the home it
// was read from is, under the key the bridge's cache reads: the time of the
// newest change the child had applied, which is how the cache tells an
// answer of a child whose connection lags the bridge's.
func TestAnswersCarryViewTime(t *testing.T) {
	if ViewTimeMeta != cache.ViewTimeMeta {
		t.Fatalf("ViewTimeMeta = %q; the cache reads %q", ViewTimeMeta, cache.ViewTimeMeta)
	}
	e := startEnv(t, Config{}, simhome.Options{})
	before := viewTimeOf(t, wantRes(t, e.call(t, "get_entities", map[string]any{"domain": "light"})))
	e.ha.SetState("light.garage", "on", map[string]any{"friendly_name": "Garage", "brightness": 255})
	raw, _ := e.ha.State("light.garage")
	var st struct {
		LastUpdated time.Time `json:"last_updated"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if !st.LastUpdated.After(before) {
		t.Fatalf("the change at %v is not after the first answer's view %v", st.LastUpdated, before)
	}
	eventually(t, "the change to reach the child's view", func() bool {
		res := wantRes(t, e.call(t, "get_entities", map[string]any{"domain": "light", "state": "on"}))
		return viewTimeOf(t, res).Equal(st.LastUpdated)
	})
	res := wantRes(t, e.call(t, "get_entity_state", map[string]any{"entity_id": "light.garage"}))
	if got := viewTimeOf(t, res); got.Before(st.LastUpdated) {
		t.Errorf("get_entity_state view %v; want at least %v", got, st.LastUpdated)
	}
}

func wantRes(t *testing.T, res *mcp.CallToolResult) *mcp.CallToolResult {
	t.Helper()
	wantOK(t, res)
	return res
}
