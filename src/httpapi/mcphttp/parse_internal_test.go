package mcphttp

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
)

// parseCallMaps is parseCall as it was, decoding the body into maps: the
// oracle parseCall must agree with.
func parseCallMaps(data []byte) (id jsonrpc.ID, p callParams, ok bool) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(data, &msg) != nil || len(msg) != 4 ||
		string(msg["jsonrpc"]) != `"2.0"` || string(msg["method"]) != `"tools/call"` {
		return id, p, false
	}
	id, ok = callID(msg["id"])
	if !ok {
		return id, p, false
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(msg["params"], &params) != nil {
		return id, p, false
	}
	for k, v := range params {
		switch k {
		case "name":
			if json.Unmarshal(v, &p.Name) != nil {
				return id, p, false
			}
		case "arguments":
			if len(v) == 0 || v[0] != '{' {
				return id, p, false
			}
			p.Arguments = v
		case "_meta":
			if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &p.Meta) != nil || !plainMeta(p.Meta) {
				return id, p, false
			}
		default:
			return id, p, false
		}
	}
	_, named := params["name"]
	return id, p, named
}

var callSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"w":1,"i":2}}}`,
	` { "params" : { "arguments" : { } , "name" : "e\u0063ho" } , "method" : "tools/call" , "id" : "x-1" , "jsonrpc" : "2.0" } `,
	`{"jsonrpc":"2.0","id":2.0,"method":"tools/call","params":{"name":"echo","_meta":{"note":"x","io.github.mcp-bridge/cache_control":"no-cache"}}}`,
	`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":1}}}`,
	`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":[1]}}`,
	`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":5}}`,
	`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"arguments":{}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","task":{}}}`,
	`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":null}`,
	`{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo"}}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"echo"}}`,
	`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"},"x":1}`,
	`{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{}}`,
	`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo"},"method":"ping"}`,
	`{"jsonrpc":"2.0","id":11,"m\u0065thod":"tools/call","params":{"name":"echo"}}`,
	`[{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo"}}]`,
}

// TestParseCall takes the calls the maps took, and refuses a key given
// twice, which the maps read as its last.
func TestParseCall(t *testing.T) {
	taken := 0
	for _, s := range callSeeds {
		if checkParseCall(t, []byte(s)) {
			taken++
		}
	}
	if taken != 3 {
		t.Errorf("parseCall took %d of the seeds; want 3", taken)
	}
	if _, _, ok := parseCall([]byte(`{"jsonrpc":"2.0","id":10,"method":"ping","params":{"name":"echo"},"method":"tools/call"}`)); ok {
		t.Error("parseCall took a body that names its method twice")
	}
}

// checkParseCall reports whether parseCall took data, and fails t if it
// read it otherwise than the maps: it may refuse more, but only a body with
// a key given twice or with escapes.
func checkParseCall(t *testing.T, data []byte) bool {
	t.Helper()
	id, p, ok := parseCall(data)
	wantID, wantP, wantOK := parseCallMaps(data)
	switch {
	case ok && !wantOK:
		t.Fatalf("parseCall took %s, which the maps refuse", data)
	case ok:
		if id != wantID {
			t.Fatalf("parseCall(%s): id %v; want %v", data, id.Raw(), wantID.Raw())
		}
		if diff := cmp.Diff(wantP, p); diff != "" {
			t.Fatalf("parseCall(%s) params (-want +got):\n%s", data, diff)
		}
	case wantOK && jsonlimit.CheckKeys(data) == nil && !bytes.Contains(data, []byte(`\`)):
		t.Fatalf("parseCall refused %s, which the maps take", data)
	}
	return ok
}

func FuzzParseCall(f *testing.F) {
	for _, s := range callSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParseCall(t, data) })
}
