package httpapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

func TestParseCallBody(t *testing.T) {
	tests := []struct {
		body    string
		name    string
		args    string
		reqID   string
		id      string
		wantErr error
		errHas  string
	}{
		{body: `{"name":"echo"}`, name: "echo"},
		{body: `{"name":"echo","arguments":null}`, name: "echo"},
		{body: `{"name":"echo","arguments":{"a":1},"request_id":"r-1"}`, name: "echo", args: `{"a":1}`, reqID: "r-1", id: `"r-1"`},
		{body: `{"name":"echo","request_id":42,"_meta":{"x":1}}`, name: "echo", reqID: "42", id: `42`},
		{body: `{"name":"echo","argument":{}}`, wantErr: errBadInput, errHas: `unknown field "argument"`},
		{body: `{"arguments":{}}`, wantErr: errBadInput, errHas: `"name" is required`},
		{body: `{"name":""}`, wantErr: errBadInput, errHas: `"name" is required`},
		{body: `{"name":1}`, wantErr: errBadInput, errHas: `"name" must be a string`},
		{body: `{"name":"echo","arguments":[1]}`, wantErr: errBadInput, errHas: "must be a JSON object"},
		{body: `{"name":"echo","request_id":1.5}`, wantErr: errBadInput, errHas: "string or an integer"},
		{body: `{"name":"echo","request_id":""}`, wantErr: errBadInput, errHas: "1 to 256"},
		{body: `[]`, wantErr: errBadInput, errHas: "must be a JSON object"},
		{body: ``, wantErr: errBadInput, errHas: "empty"},
		{body: `{"name":"echo"`, wantErr: errBadJSON},
		{body: `{"name":"echo"} {}`, wantErr: errBadJSON, errHas: "after the JSON object"},
		{body: `{name:"echo"}`, wantErr: errBadJSON},
		{body: `null`, wantErr: errBadInput, errHas: "must be a JSON object"},
		// Issue #9: keys that mean different things to different decoders.
		{body: `{"name":"call_service","name":"get_entities"}`, wantErr: errBadInput, errHas: `duplicate key: "name"`},
		{body: `{"name":"echo","arguments":{"entity_id":"a","entity_id":"b"}}`, wantErr: errBadInput, errHas: `duplicate key: "entity_id"`},
		{body: `{"Name":"echo"}`, wantErr: errBadInput, errHas: `unknown field "Name" (keys are case-sensitive: did you mean "name"?)`},
		{body: `{"name":"echo","ARGUMENTS":{}}`, wantErr: errBadInput, errHas: `did you mean "arguments"`},
		{body: "{\"name\":\"echo\",\"request_id\":\"a\xffb\"}", wantErr: errBadJSON, errHas: "not valid UTF-8"},
		{body: `{"name":"get_entities","arguments":{"search":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}}`,
			wantErr: errBadInput, errHas: "nested too deeply"},
	}
	for _, tt := range tests {
		got, err := parseCallBody([]byte(tt.body))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("parseCallBody(%s) error = %v, want %v containing %q", tt.body, err, tt.wantErr, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCallBody(%s) error = %v", tt.body, err)
			continue
		}
		if got.Name != tt.name || string(got.Arguments) != tt.args || got.RequestID != tt.reqID || string(got.ID) != tt.id {
			t.Errorf("parseCallBody(%s) = %+v", tt.body, got)
		}
	}
}

func TestParseRequestIDRefusesInvalidUTF8(t *testing.T) {
	if id, err := parseRequestID([]byte("\"a\xffb\"")); !errors.Is(err, errBadInput) {
		t.Errorf("parseRequestID(invalid UTF-8) = %q, %v; want errBadInput", id, err)
	}
}

func FuzzParseCallBody(f *testing.F) {
	for _, s := range []string{`{"name":"echo","arguments":{"a":[1,2]},"request_id":"x"}`, `{ "name" : "é" , "arguments" : null, "request_id" : 7 , "_meta":{} }`, `{"name":"a","Name":"b"}`, `{"name":1}`, `{"request_id":-0}`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseCallBody(data)
		if checkJSONText(data) != nil || !json.Valid(data) {
			// plainCallBody is not asked
		} else if fast, ok := plainCallBody(data); ok {
			// The decoder-free path reads exactly what the decoder does.
			slow, err := decodeCallBody(data)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("plainCallBody(%s) = %+v; decodeCallBody = %+v, %v", data, fast, slow, err)
			}
		}
		if err != nil {
			if !errors.Is(err, errBadInput) && !errors.Is(err, errBadJSON) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if b.Name == "" || (b.RequestID == "") != (b.ID == nil) || len(b.RequestID) > maxRequestIDLen {
			t.Fatalf("accepted an invalid body: %+v", b)
		}
		if b.Arguments != nil && b.Arguments[0] != '{' {
			t.Fatalf("accepted non-object arguments %s", b.Arguments)
		}
	})
}

func TestParseHeaders(t *testing.T) {
	for _, tt := range []struct {
		h    string
		want *queue.Priority
		ok   bool
	}{{"", nil, true}, {"high", ptr(queue.High), true}, {" 4 ", ptr(queue.Bulk), true}, {"5", nil, false}, {"urgent", nil, false}} {
		got, err := parsePriorityHeader(tt.h)
		if (err == nil) != tt.ok || (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("parsePriorityHeader(%q) = %v, %v", tt.h, got, err)
		}
	}
	for _, tt := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{{"", 0, true}, {"30", 30 * time.Second, true}, {"0.5", 500 * time.Millisecond, true},
		{"0.001", time.Millisecond, true}, {"1e-300", 0, false}, {"0.0009", 0, false},
		{"0", 0, false}, {"-1", 0, false}, {"NaN", 0, false}, {"Inf", 0, false}, {"1e9", 0, false}, {"ten", 0, false}} {
		got, err := parseTimeoutHeader(tt.h)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimeoutHeader(%q) = %v, %v", tt.h, got, err)
		}
	}
	for _, tt := range []struct {
		h    string
		want time.Duration
	}{{"", -1}, {"max-age=3600", time.Hour}, {"MAX-AGE = 0", 0}, {"no-cache", 0}, {"max-age=abc", -1}, {"private, max-age=\"5\"", 5 * time.Second}} {
		if got := parseCacheControl(tt.h); got != tt.want {
			t.Errorf("parseCacheControl(%q) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"HIGH", "2", "30", "0.001", "max-age=10, no-cache", "1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if p, err := parsePriorityHeader(h); err == nil && p != nil && (*p < queue.Critical || *p > queue.Bulk) {
			t.Fatalf("priority %v out of range from %q", *p, h)
		}
		if d, err := parseTimeoutHeader(h); err == nil && strings.TrimSpace(h) != "" && (d < minTimeoutHeader || d > maxTimeoutHeader) {
			t.Fatalf("timeout %v out of bounds from %q", d, h)
		}
		if d := parseCacheControl(h); d < -1 {
			t.Fatalf("max-age %v from %q", d, h)
		}
		_ = validSessionID(h)
	})
}

func TestParseInitBody(t *testing.T) {
	b, err := parseInitBody([]byte(`{"protocolVersion":"2024-11-05","capabilities":{"x":1},"clientInfo":{"name":"c"},"session_id":"abc","extra":true}`))
	if err != nil || b.ProtocolVersion != "2024-11-05" || b.SessionID == nil || *b.SessionID != "abc" {
		t.Errorf("plain body: %+v, %v", b, err)
	}
	b, err = parseInitBody([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`))
	if err != nil || b.ProtocolVersion != "2025-06-18" {
		t.Errorf("JSON-RPC body: %+v, %v", b, err)
	}
	if b, err := parseInitBody([]byte(`{"params":{"protocolVersion":"2025-06-18","Extra":1}}`)); err != nil || b.ProtocolVersion != "2025-06-18" {
		t.Errorf("unknown keys are ignored: %+v, %v", b, err)
	}
	if b, err := parseInitBody(nil); err != nil || b.SessionID != nil {
		t.Errorf("empty body: %+v, %v", b, err)
	}
	for _, bad := range []string{`{"Session_ID":"abc"}`, `{"params":{"protocolversion":"2025-06-18"}}`,
		`{"session_id":"a","session_id":"b"}`, `{"session_id":"has space"}`, `{"session_id":""}`, `{"session_id":"` + strings.Repeat("a", 129) + `"}`, `[`, `"x"`} {
		if _, err := parseInitBody([]byte(bad)); err == nil {
			t.Errorf("parseInitBody(%s) accepted", bad)
		}
	}
}

func ptr[T any](v T) *T { return &v }
