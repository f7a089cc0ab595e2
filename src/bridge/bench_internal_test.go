package bridge

import (
	"encoding/json"
	"testing"
)

// BenchmarkMakePlan measures the classification of a read (decode,
// canonical form, keys).
func BenchmarkMakePlan(b *testing.B) {
	br := &Bridge{}
	br.cfg.setDefaults()
	req := Request{Tool: "echo", Arguments: json.RawMessage(`{"w":12,"i":3456}`), RequestID: "abc"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.makePlan(req, toolInfo{readOnly: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWithMeta measures adding the bridge facts to a small result.
func BenchmarkWithMeta(b *testing.B) {
	raw := json.RawMessage(`{"content":[{"type":"text","text":"{\"i\":3456,\"w\":12}"}],"structuredContent":{"i":3456,"w":12}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WithMeta(raw, Meta{Priority: "HIGH", Kind: KindRead}); err != nil {
			b.Fatal(err)
		}
	}
}
