package mcphttp

import (
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sdkDecode decodes a result with the SDK's own decoder, as the SDK's path
// does.
func sdkDecode(raw []byte) (*mcp.CallToolResult, error) {
	out := new(mcp.CallToolResult)
	return out, json.Unmarshal(raw, out)
}

var resultSeeds = []string{
	`{"content":[{"type":"text","text":"hello"}]}`,
	`{"content":[{"type":"text","text":"<b>&\u00e9\u2028 \"q\""}],"structuredContent":{"z":1,"a":[1.5,2e3,null,true],"<":"&"},"isError":true}`,
	`{"content":[],"_meta":{"io.github.mcp-bridge/cached":false,"b":{"x":1},"a":"y"}}`,
	`{"_meta":{"k":1}}`,
	`{"content":null,"isError":null,"structuredContent":null,"_meta":null}`,
	`{"content":[{"type":"text","text":""}],"structuredContent":12345678901234567890}`,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"isError":false}`,
	`{"content":[{"type":"image","data":"AAAA","mimeType":"image/png"}]}`,
	`{"content":[{"type":"text","text":"x","annotations":{"priority":1}}]}`,
	`{"content":[{"type":"text","text":"\ud83d\ude00 \ud800"}]}`,
	`{"content":[{"type":"text","text":"a"}],"resultType":"complete"}`,
	`{"Content":[{"type":"text","text":"a"}]}`,
	`{"content":[{"type":"text","text":"a"}],"isError":"yes"}`,
	`{"content":{"type":"text","text":"a"}}`,
	"{\"content\":[{\"type\":\"text\",\"text\":\"bad \xff utf8\"}]}",
	`[]`,
	`{}`,
	`null`,
}

// TestDecodeTextResult gives the answers the SDK's decoder gives, for the
// results it takes, and leaves the others to the SDK.
func TestDecodeTextResult(t *testing.T) {
	taken := 0
	for _, raw := range resultSeeds {
		if checkDecode(t, []byte(raw)) {
			taken++
		}
	}
	if taken < 6 {
		t.Errorf("decodeTextResult took %d of the seeds; want the plain ones", taken)
	}
}

// checkDecode reports whether decodeTextResult took raw, and fails t if
// its answer differs from the SDK's.
func checkDecode(t *testing.T, raw []byte) bool {
	t.Helper()
	fast, ok := decodeTextResult(raw)
	if !ok {
		return false
	}
	slow, err := sdkDecode(raw)
	if err != nil {
		t.Fatalf("decodeTextResult took %s, which the SDK refuses: %v", raw, err)
	}
	a, errA := marshalResult(fast)
	b, errB := marshalResult(slow)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Fatalf("%s:\ndecodeTextResult: %s %v\nSDK:              %s %v", raw, a, errA, b, errB)
	}
	return true
}

func FuzzDecodeTextResult(f *testing.F) {
	for _, s := range resultSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkDecode(t, raw) })
}
