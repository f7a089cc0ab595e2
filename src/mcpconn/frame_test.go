package mcpconn

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{"lines", "a\nb\n", 10, []string{"a", "b"}, io.EOF},
		{"crlf and blanks", "a\r\n\n  \r\nb", 10, []string{"a", "b"}, io.EOF},
		{"exactly max", "12345\n", 5, []string{"12345"}, io.EOF},
		{"too long", "123456\n", 5, nil, ErrLineTooLong},
		{"too long without newline", strings.Repeat("x", 100), 5, nil, ErrLineTooLong},
		{"longer than the buffer", strings.Repeat("y", 200<<10) + "\nz\n", 1 << 20, []string{strings.Repeat("y", 200<<10), "z"}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tt.in), tt.max)
			var got []string
			var err error
			for {
				var line []byte
				if line, err = lr.next(); err != nil {
					break
				}
				got = append(got, string(line))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		line    string
		want    string // "request", "notification", "response", or "" for an error
		wantErr bool
	}{
		{`{"jsonrpc":"2.0","id":1,"result":{}}`, "response", false},
		{`{"jsonrpc":"2.0","id":"a","method":"ping"}`, "request", false},
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{}}`, "notification", false},
		{`{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"x"}}`, "response", false},
		{`[{"jsonrpc":"2.0","id":1,"result":{}}]`, "", true},
		{`{"jsonrpc":"1.0","id":1,"result":{}}`, "", true},
		{`{"jsonrpc":"2.0","result":{}}`, "", true},
		{`not json`, "", true},
	}
	for _, tt := range tests {
		msg, err := decodeMessage([]byte(tt.line))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeMessage(%s) err = %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if got := kind(msg); err == nil && got != tt.want {
			t.Errorf("decodeMessage(%s) = %s, want %s", tt.line, got, tt.want)
		}
	}
}

func kind(m jsonrpc.Message) string {
	switch m := m.(type) {
	case *jsonrpc.Response:
		return "response"
	case *jsonrpc.Request:
		if m.IsCall() {
			return "request"
		}
		return "notification"
	}
	return "?"
}

func TestRetagProgress(t *testing.T) {
	in := json.RawMessage(`{"name":"x","_meta":{"progressToken":"abc","other":1}}`)
	out, token := retagProgress(in, 42)
	if string(token) != `"abc"` {
		t.Errorf("token = %s, want \"abc\"", token)
	}
	if id, ok := progressTarget(json.RawMessage(`{"progressToken":42,"progress":1}`)); !ok || id != 42 {
		t.Errorf("progressTarget = %d, %v", id, ok)
	}
	want := `{"_meta":{"other":1,"progressToken":42},"name":"x"}`
	if string(out) != want {
		t.Errorf("retagged = %s, want %s", out, want)
	}
	if got := restoreProgress(json.RawMessage(`{"progress":1,"progressToken":42}`), token); string(got) != `{"progress":1,"progressToken":"abc"}` {
		t.Errorf("restored = %s", got)
	}
	plain := json.RawMessage(`{"name":"x",  "arguments":{}}`)
	if out, token := retagProgress(plain, 1); !bytes.Equal(out, plain) || token != nil {
		t.Errorf("params without a token changed: %s, %s", out, token)
	}
}

// FuzzReadMessages feeds arbitrary bytes through the framing and decoding a
// session applies to a child's stdout: it must never panic, and every
// decoded message must encode to one line that decodes to the same kind.
func FuzzReadMessages(f *testing.F) {
	f.Add([]byte("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"x\"}\r\n"))
	f.Add([]byte("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":3}}"))
	f.Add([]byte("garbage\n\n[1,2]\n{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":1,\"message\":\"m\",\"data\":null}}\n"))
	f.Add([]byte(strings.Repeat("{", 300) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := newLineReader(bytes.NewReader(data), 256)
		for {
			line, err := lr.next()
			if err != nil {
				return
			}
			if bytes.IndexByte(line, '\n') >= 0 || len(line) > 256 {
				t.Fatalf("bad line %q", line)
			}
			msg, err := decodeMessage(line)
			if err != nil {
				continue
			}
			enc, err := encodeMessage(msg)
			if err != nil {
				continue // e.g. invalid raw params that decoding tolerated
			}
			if bytes.IndexByte(enc[:len(enc)-1], '\n') >= 0 {
				t.Fatalf("encoded message spans lines: %q", enc)
			}
			again, err := decodeMessage(enc[:len(enc)-1])
			if err != nil || kind(again) != kind(msg) {
				t.Fatalf("round trip of %q: %q, %v", line, enc, err)
			}
			progressTarget(line)
			retagProgress(line, 7)
		}
	})
}

// TestAppendRequest: requests are the bytes go-sdk's encoder makes.
func TestAppendRequest(t *testing.T) {
	for _, tt := range []struct {
		id     int64
		method string
		params string
	}{
		{1, "tools/call", `{"name":"echo","arguments":{"a":"<b>&","n":1.50}}`},
		{42, "ping", ``},
		{7, "x\"y\u2028\n", " {\n \"a\" : [ 1 , 2 ] }\t"},
		{0, "notifications/initialized", ``},
	} {
		got, err := appendRequest(nil, tt.id, tt.id != 0, tt.method, json.RawMessage(tt.params))
		if err != nil {
			t.Fatalf("appendRequest(%q): %v", tt.method, err)
		}
		if diff := cmp.Diff(string(sdkEncode(t, tt.id, tt.method, tt.params)), string(got)); diff != "" {
			t.Errorf("appendRequest(%q) (-want +got):\n%s", tt.method, diff)
		}
	}
	if _, err := appendRequest(nil, 1, true, "m", json.RawMessage(`{"a":`)); err == nil {
		t.Error("invalid params accepted")
	}
}

func sdkEncode(t testing.TB, id int64, method, params string) []byte {
	req := &jsonrpc.Request{Method: method, Params: json.RawMessage(params)}
	if id != 0 {
		req.ID, _ = jsonrpc.MakeID(float64(id))
	}
	data, err := encodeMessage(req)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzAppendRequest: appendRequest agrees with go-sdk's encoder on any
// method and params, accepting and refusing the same ones.
func FuzzAppendRequest(f *testing.F) {
	f.Add("tools/call", `{"a":[1,"\u00e9<"]}`)
	f.Add("m\x00", `[`)
	f.Fuzz(func(t *testing.T, method, params string) {
		if method == "" {
			return
		}
		got, err := appendRequest(nil, 3, true, method, json.RawMessage(params))
		req := &jsonrpc.Request{Method: method, Params: json.RawMessage(params)}
		req.ID, _ = jsonrpc.MakeID(float64(3))
		want, wantErr := encodeMessage(req)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendRequest err %v, encodeMessage err %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("appendRequest = %s, want %s", got, want)
		}
	})
}

// TestDecodeIDFastPath: small integers, read without encoding/json, give
// the ids encoding/json would.
func TestDecodeIDFastPath(t *testing.T) {
	for _, raw := range []string{"0", "7", "123456789012345", "1234567890123456", "05", "-3", "1e2", "1.5", `"7"`, "null"} {
		got, gotErr := decodeID(json.RawMessage(raw))
		var want jsonrpc.ID
		var v any
		wantErr := json.Unmarshal([]byte(raw), &v)
		if f, ok := v.(float64); ok && f != float64(int64(f)) {
			wantErr = errors.New("not an integer")
		}
		if wantErr == nil {
			want, wantErr = jsonrpc.MakeID(v)
		}
		if (gotErr != nil) != (wantErr != nil) || got != want {
			t.Errorf("decodeID(%s) = %v, %v; want %v, %v", raw, got.Raw(), gotErr, want.Raw(), wantErr)
		}
	}
}

// FuzzDecodeResult: the fast path for results decodes as the general path
// does, and declines what it cannot decode exactly.
func FuzzDecodeResult(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","id":12,"result":{"content":[{"type":"text","text":"}"}]}}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"result":{},"error":null}`)
	f.Add(`{"jsonrpc":"2.0","id":07,"result":{}}`)
	f.Add(`{"jsonrpc":"2.0","id":3,"result":[1] }`)
	f.Fuzz(func(t *testing.T, line string) {
		fast, ok := decodeResult([]byte(line))
		if !ok {
			return
		}
		slow, err := decodeSlow([]byte(line))
		if err != nil {
			t.Fatalf("fast path accepted %s, general path: %v", line, err)
		}
		resp, isResp := slow.(*jsonrpc.Response)
		if !isResp || resp.ID != fast.ID || !bytes.Equal(resp.Result, fast.Result) || resp.Error != nil {
			t.Errorf("decodeResult(%s) = %v %s, general path %+v", line, fast.ID.Raw(), fast.Result, slow)
		}
	})
}

// interruptedReader returns its chunks one per Read, and
// os.ErrDeadlineExceeded for an empty chunk, as a pipe read interrupted by
// a deadline does.
type interruptedReader struct{ chunks []string }

func (r *interruptedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	c := r.chunks[0]
	r.chunks = r.chunks[1:]
	if c == "" {
		return 0, os.ErrDeadlineExceeded
	}
	return copy(p, c), nil
}

// TestLineReaderResumesAfterDeadline checks that a line whose read was
// interrupted midway is returned whole by the next call.
func TestLineReaderResumesAfterDeadline(t *testing.T) {
	lr := newLineReader(&interruptedReader{chunks: []string{`{"a":`, "", `1}` + "\n" + `{"b"`, "", "", ":2}\n"}}, 1<<20)
	var got []string
	var deadlines int
	for {
		line, err := lr.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			deadlines++
			continue
		}
		if err != nil {
			break
		}
		got = append(got, string(line))
	}
	if diff := cmp.Diff([]string{`{"a":1}`, `{"b":2}`}, got); diff != "" || deadlines != 3 {
		t.Errorf("lines (-want +got):\n%s\ndeadlines %d, want 3", diff, deadlines)
	}
}
