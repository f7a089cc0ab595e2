package mcphttp

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	a, errA := marshalSDK(fast)
	b, errB := marshalSDK(slow)
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

// TestPlainResult sends as they are the results that mean to a client what
// the SDK's encoding of them would mean, and no others.
func TestPlainResult(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`{"content":[{"type":"text","text":"hello"}]}`, true},
		{`{"content":[],"isError":false,"structuredContent":{"b":1e2,"a":"\u00e9<"},"_meta":{"k":[1]}}`, true},
		{`{"content":[{"type":"text","text":"a"}],"isError":true}`, true},
		{`{"structuredContent":{}}`, false},                                                   // the SDK adds "content":[]
		{`{"content":null}`, false},                                                           // likewise
		{`{"content":[{"type":"text","text":"a"}],"structuredContent":[1]}`, false},           // not an object
		{`{"content":[{"type":"text","text":"a"}],"structuredContent":null}`, false},          // the SDK leaves it out
		{`{"content":[{"type":"text","text":"a"}],"_meta":null}`, false},                      // likewise
		{`{"content":[],"_meta":{ }}`, false},                                                 // likewise
		{`{"content":[{"type":"text","text":"a"}],"isError":null}`, false},                    // likewise
		{`{"content":[{"type":"text","text":"a"}],"structuredContent":{"a":1,"a":2}}`, false}, // the SDK keeps the last
		{`{"content":[{"type":"text","text":"a"}],"content":[]}`, false},
		{"{\"content\":[{\"type\":\"text\",\"text\":\"a\"}],\n\"isError\":true}", false}, // not one SSE data line
		{`{"content":[{"type":"text","text":"\ud800"}]}`, false},
		{`{"content":[{"type":"image","data":"AAAA","mimeType":"image/png"}]}`, false},
		{`{"content":[{"type":"text","text":"x","annotations":{"priority":1}}]}`, false},
		{`{"content":[{"type":"text","text":"a"}],"resultType":"complete"}`, false},
		{`{"content":[],"structuredContent":{"a":[1e400]}}`, false}, // the SDK refuses a number past float64
		{`{"content":[{"type":"text","text":"1e400"}],"_meta":{"x":-1E999}}`, false},
		{`{"content":[],"structuredContent":{"a":"1e400","b":1e308,"c":-2.5e-400}}`, true},
		{`{"content":[],"structuredContent":{"a":1` + strings.Repeat("0", 309) + `}}`, false},
	} {
		if got := checkPlain(t, []byte(tc.raw)); got != tc.want {
			t.Errorf("plainResult(%s) = %v; want %v", tc.raw, got, tc.want)
		}
	}
}

// checkPlain reports whether plainResult took raw, and fails t if the SDK's
// answer for raw would mean anything else: another JSON value, numbers
// read as float64 and an "isError":false counting as absent, as the SDK
// leaves it out.
func checkPlain(t *testing.T, raw []byte) bool {
	t.Helper()
	if !plainResult(raw) {
		return false
	}
	if _, ok := decodeTextResult(raw); !ok {
		t.Fatalf("plainResult took %s, which decodeTextResult leaves to the SDK", raw)
	}
	slow, err := sdkDecode(raw)
	if err != nil {
		t.Fatalf("plainResult took %s, which the SDK refuses: %v", raw, err)
	}
	enc, err := marshalSDK(slow)
	if err != nil {
		t.Fatal(err)
	}
	var fast, sdk map[string]any
	if err := json.Unmarshal(raw, &fast); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &sdk); err != nil {
		t.Fatal(err)
	}
	if fast["isError"] == false {
		delete(fast, "isError")
	}
	if diff := cmp.Diff(sdk, fast); diff != "" || bytes.ContainsAny(raw, "\r\n") {
		t.Fatalf("plainResult took %s, which the SDK encodes as %s (-SDK +as sent):\n%s", raw, enc, diff)
	}
	return true
}

func FuzzPlainResult(f *testing.F) {
	for _, s := range resultSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkPlain(t, raw) })
}
