package bridge

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testMeta = Meta{QueueWait: 3 * time.Millisecond, Duration: 9 * time.Millisecond, Attempts: 2,
	Deduplicated: true, Priority: "HIGH", Kind: KindRead}

// checkWithMeta compares WithMeta with a decode-everything oracle: every
// member of raw is kept, _meta gains the bridge's keys and keeps the
// child's other keys.
func checkWithMeta(t *testing.T, raw []byte) {
	t.Helper()
	got, err := WithMeta(raw, testMeta)
	var in map[string]json.RawMessage
	if json.Unmarshal(raw, &in) != nil || in == nil {
		if !errors.Is(err, ErrBadResult) {
			t.Fatalf("WithMeta(%q) = %s, %v; want ErrBadResult", raw, got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("WithMeta(%q): %v", raw, err)
	}
	var out map[string]any
	if err := json.Unmarshal(got, &out); err != nil {
		t.Fatalf("WithMeta(%q) = %q: not JSON: %v", raw, got, err)
	}
	want := map[string]any{}
	for k, v := range in {
		var x any
		json.Unmarshal(v, &x)
		want[k] = x
	}
	meta := map[string]any{}
	if theirs, ok := want["_meta"].(map[string]any); ok {
		maps.Copy(meta, theirs)
	}
	var ours map[string]any
	json.Unmarshal(testMeta.appendJSON(nil), &ours)
	maps.Copy(meta, ours)
	want["_meta"] = meta
	if diff := cmp.Diff(want, out); diff != "" {
		t.Fatalf("WithMeta(%q) (-want +got):\n%s", raw, diff)
	}
}

func TestWithMeta(t *testing.T) {
	for _, raw := range []string{
		`{"content":[{"type":"text","text":"hi"}]}`,
		`{}`,
		` { } `,
		`{"content":[],"isError":true,"_meta":{"progress":1,"io.github.mcp-bridge/attempts":99}}`,
		`{"_meta":null,"x":"}\"{"}`,
		`{"\u005fmeta":{"a":"b"}}`,
		`{"a":{"_meta":1}}`,
		`[]`, `"x"`, `{"a":}`, ``, `null`,
	} {
		checkWithMeta(t, []byte(raw))
	}
}

func TestIsToolError(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"isError":true}`:                        true,
		`{"content":[{"isError":true}]}`:          false,
		`{"isError":false}`:                       false,
		`{"a":"\"isError\":true","isError":true}`: true,
		`{"is\u0045rror":true}`:                   true,
		`not json`:                                false,
	} {
		if got := isToolError(json.RawMessage(raw)); got != want {
			t.Errorf("isToolError(%s) = %v, want %v", raw, got, want)
		}
	}
}

func FuzzWithMeta(f *testing.F) {
	for _, s := range []string{`{"content":[]}`, `{"_meta":{"k":[1,{"x":"]"}]}}`, `{"a":1,"_meta":"s"}`, `{`, `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkWithMeta(t, raw)
		_ = isToolError(raw)
	})
}
