package mcphttp

import "testing"

// benchResult is the fast child's answer to the load test's echo, with the
// bridge's _meta: what a Streamable HTTP or HTTP+SSE call sends back.
var benchResult = []byte(`{"content":[{"type":"text","text":"{\"w\":12,\"i\":12345}"}],"structuredContent":{"w":12,"i":12345},"_meta":{"io.github.mcp-bridge/queue_wait_ms":0,"io.github.mcp-bridge/deduplicated":false,"io.github.mcp-bridge/replayed":false,"io.github.mcp-bridge/cached":false,"io.github.mcp-bridge/stale":false,"io.github.mcp-bridge/duration_ms":0,"io.github.mcp-bridge/attempts":1,"io.github.mcp-bridge/priority":"HIGH","io.github.mcp-bridge/kind":"read"}}`)

// BenchmarkPlainResult checks a result that goes out as the child wrote it.
func BenchmarkPlainResult(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !plainResult(benchResult) {
			b.Fatal("not a plain result")
		}
	}
}

// BenchmarkDecodeEncode decodes and encodes the same result as the SDK
// would, for comparison: what the fast path did before plainResult.
func BenchmarkDecodeEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		res, ok := decodeTextResult(benchResult)
		if !ok {
			b.Fatal("not a text result")
		}
		if _, err := marshalSDK(res); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCall is the load test's tools/call of worker 12, call 12345.
var benchCall = []byte(`{"jsonrpc":"2.0","id":12346,"method":"tools/call","params":{"name":"echo","arguments":{"w":12,"i":12345}}}`)

// BenchmarkParseCall reads a POST body the fast path takes.
func BenchmarkParseCall(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := parseCall(benchCall); !ok {
			b.Fatal("not a plain call")
		}
	}
}

// BenchmarkParseCallMaps reads it as parseCall did before, into maps.
func BenchmarkParseCallMaps(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := parseCallMaps(benchCall); !ok {
			b.Fatal("not a plain call")
		}
	}
}
