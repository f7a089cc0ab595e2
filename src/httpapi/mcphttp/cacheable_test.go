package mcphttp_test

import (
	"encoding/json"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// TestModernToolsListTTL: on 2026-07-28 the tools/list answer's ttlMs is
// the time its list has left under the bridge's policy for the tool list
// (bridge.DefaultToolsTTL, one hour, from the first fetch), private to
// the client; and it counts down.
func TestModernToolsListTTL(t *testing.T) {
	s := newStack(t, stackOptions{})
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	list := func(id string) (ttl int, scope string) {
		t.Helper()
		body := post(t, s, "", "2026-07-28", `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/list","params":{`+meta+`}}`, map[string]string{"Mcp-Method": "tools/list"})
		var m struct {
			Result struct {
				TTLMs      *int   `json:"ttlMs"`
				CacheScope string `json:"cacheScope"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Result.TTLMs == nil {
			t.Fatalf("tools/list answered %.300s (%v); want ttlMs", body, err)
		}
		return *m.Result.TTLMs, m.Result.CacheScope
	}
	first, scope := list("1")
	policy := int(bridge.DefaultToolsTTL.Milliseconds())
	if first <= policy-60_000 || first > policy || scope != "private" {
		t.Errorf("ttlMs %d, cacheScope %q; want just under %d (the tool list's TTL), private", first, scope, policy)
	}
	if second, _ := list("2"); second > first {
		t.Errorf("ttlMs went up from %d to %d for the same list", first, second)
	}
}
