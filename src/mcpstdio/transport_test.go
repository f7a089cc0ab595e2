package mcpstdio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FuzzDecodeRequest: whatever the fast path takes of a valid JSON text (as
// the framing reads them), it decodes exactly as jsonrpc.DecodeMessage does.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_entity_state","arguments":{"entity_id":"light.a"}}}`)
	f.Add(`{"method":"notifications/initialized","jsonrpc":"2.0"}`)
	f.Add(` { "jsonrpc" : "2.0" , "id" : "a-1" , "method" : "ping" , "params" : [ 1 , {} ] } `)
	f.Add(`{"jsonrpc":"2.0","id":null,"method":"","params":null}`)
	f.Add(`{"jsonrpc":"2.0","id":007,"method":"x"}`)
	f.Add(`{"jsonrpc":"2.0","id":1.5,"method":"x"}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"a\u0062","Params":{}}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"x","method":"y"}`)
	f.Add(`{"jsonrpc":"2.0","id":"\u00e9","method":"é"}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"x","params":"` + "\xff" + `"}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`)
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		fast, ok := decodeRequest([]byte(in))
		if !ok {
			return
		}
		want, err := jsonrpc.DecodeMessage([]byte(in))
		if err != nil {
			t.Fatalf("decodeRequest(%s) = %+v, jsonrpc.DecodeMessage: %v", in, fast, err)
		}
		if diff := cmp.Diff(want, jsonrpc.Message(fast), cmp.AllowUnexported(jsonrpc.ID{})); diff != "" {
			t.Errorf("decodeRequest(%s) (-DecodeMessage +ours):\n%s", in, diff)
		}
	})
}

// TestDecodeRequestTakesTheCommonRequests: the messages the bridge's pool
// and MCP clients send take the fast path.
func TestDecodeRequestTakesTheCommonRequests(t *testing.T) {
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"get_entity_state","arguments":{"entity_id":"light.a"}}}`,
		`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"method":"tools/list","params":{},"jsonrpc":"2.0","id":"abc"}`,
	} {
		if _, ok := decodeRequest([]byte(in)); !ok {
			t.Errorf("decodeRequest(%s) declined", in)
		}
	}
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"jsonrpc":"2.0","id":-1,"method":"x"}`,
		`{"jsonrpc":"2.0","id":1,"method":"x","extra":1}`,
		`[{"jsonrpc":"2.0","id":1,"method":"x"}]`,
	} {
		if _, ok := decodeRequest([]byte(in)); ok {
			t.Errorf("decodeRequest(%s) took it", in)
		}
	}
}

// readAll reads c until an error, at most max messages.
func readAll(t testing.TB, c mcp.Connection, max int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for len(got) < max {
		msg, err := c.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Read blocked after %q", got)
			}
			return append(got, "error")
		}
		data, err := jsonrpc.EncodeMessage(msg)
		if err != nil {
			t.Fatalf("encoding %+v: %v", msg, err)
		}
		got = append(got, fmt.Sprintf("%T %s", msg, data))
	}
	return got
}

// connect connects tr over in; the answers go to out.
func connect(t testing.TB, tr func(io.ReadCloser, io.WriteCloser) mcp.Transport, in string, out io.WriteCloser) mcp.Connection {
	t.Helper()
	c, err := tr(io.NopCloser(strings.NewReader(in)), out).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sdkTransport(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
	return &mcp.IOTransport{Reader: r, Writer: w}
}
func ourTransport(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
	return &Transport{Reader: r, Writer: w}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// FuzzConnReadsAsSDK: for any input, the connection reads the messages,
// and fails at the message, that go-sdk's stdio connection does, from a
// reader and from a pipe.
func FuzzConnReadsAsSDK(f *testing.F) {
	f.Add("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":{}}\r\n")
	f.Add("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n")
	f.Add("[]\nnull\n")
	f.Add("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"} {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"}\n")
	f.Add("{\"jsonrpc\":\"2.0\",\n \"id\":3,\"method\":\"multi-line\"}\n\"x\"\n")
	f.Add("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b\"}]\n")
	f.Add("[" + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "]\n")
	f.Add("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\"}}\n{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}\n")
	f.Fuzz(func(t *testing.T, in string) {
		want := readAll(t, connect(t, sdkTransport, in, discard{}), 20)
		got := readAll(t, connect(t, ourTransport, in, discard{}), 20)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reading %q (-go-sdk +ours):\n%s", in, diff)
		}
		// The same from a pipe, read inline (a rawPipe).
		c, w := pipeConn(t, 0)
		go func() {
			w.WriteString(in)
			w.Close()
		}()
		if diff := cmp.Diff(want, readAll(t, c, 20)); diff != "" {
			t.Errorf("reading %q from a pipe (-go-sdk +ours):\n%s", in, diff)
		}
	})
}

// buffer is an io.WriteCloser safe for concurrent use.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) Close() error { return nil }

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestConnWritesAsSDK: answers, alone and to the calls of a batch, go out
// in the bytes go-sdk's connection writes; after 2025-06-18 was
// negotiated, a batch is refused as go-sdk refuses it. (go-sdk never
// answers a batch that holds a notification: it waits for an answer to
// it; this connection answers the calls, as JSON-RPC asks.)
func TestConnWritesAsSDK(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":"i","method":"initialize","params":{}}` + "\n" +
		`[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"}]` + "\n"
	answers := []*jsonrpc.Response{
		{ID: mustID(t, "i"), Result: []byte(`{"protocolVersion":"2025-03-26"}`)},
		{ID: mustID(t, 2.0), Result: []byte(`{"x":"<&>"}`)},
		{ID: mustID(t, 9.0), Result: []byte(`{}`)}, // in no batch
		{ID: mustID(t, 1.0), Error: &jsonrpc.Error{Code: -32601, Message: "no"}},
	}
	run := func(tr func(io.ReadCloser, io.WriteCloser) mcp.Transport) (reads []string, written string) {
		var out buffer
		c := connect(t, tr, in, &out)
		reads = readAll(t, c, 3)
		for _, a := range answers {
			if err := c.Write(context.Background(), a); err != nil {
				t.Fatal(err)
			}
		}
		return reads, out.String()
	}
	wantReads, wantOut := run(sdkTransport)
	gotReads, gotOut := run(ourTransport)
	if diff := cmp.Diff(wantReads, gotReads); diff != "" {
		t.Errorf("reads (-go-sdk +ours):\n%s", diff)
	}
	if gotOut != wantOut {
		t.Errorf("written:\n%s\ngo-sdk wrote:\n%s", gotOut, wantOut)
	}
	if !strings.Contains(gotOut, `[{"jsonrpc":"2.0","id":1,`) {
		t.Errorf("the batch's answers did not go out together:\n%s", gotOut)
	}

	var out buffer
	c := connect(t, ourTransport, `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"}]`+"\n"+in, &out)
	readAll(t, c, 2)
	if err := c.Write(context.Background(), &jsonrpc.Response{ID: mustID(t, 1.0), Result: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if want := `[{"jsonrpc":"2.0","id":1,"result":{}}]` + "\n"; out.String() != want {
		t.Errorf("the answer to a batch of a call and a notification: %q, want %q", out.String(), want)
	}
	if _, err := c.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), &jsonrpc.Response{ID: mustID(t, "i"), Result: []byte(`{"protocolVersion":"2025-06-18"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "batching is not supported") {
		t.Errorf("a batch after 2025-06-18 was negotiated: err = %v, want batching refused", err)
	}
}

func mustID(t testing.TB, v any) jsonrpc.ID {
	id, err := jsonrpc.MakeID(v)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readDuring starts a Read of c with ctx, lets it wait for wait, runs act,
// and returns the Read's error; the test fails if Read still waits 5 s
// after act.
func readDuring(t *testing.T, c mcp.Connection, ctx context.Context, wait time.Duration, act func()) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx)
		errc <- err
	}()
	time.Sleep(wait)
	act()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5 s later")
		return nil
	}
}

// closeConn is an act for readDuring: it closes c.
func closeConn(t *testing.T, c mcp.Connection) func() {
	return func() {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseEndsRead: Close returns a Read that waits for input that never
// comes, and closes the input.
func TestCloseEndsRead(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	c, err := (&Transport{Reader: r, Writer: discard{}}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := readDuring(t, c, context.Background(), 10*time.Millisecond, closeConn(t, c)); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want io.EOF", err)
	}
	if _, err := w.Write([]byte("{}\n")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("writing to the closed input: %v, want io.ErrClosedPipe", err)
	}
}

// TestMaxLineLength: a message longer than the bound is an error.
func TestMaxLineLength(t *testing.T) {
	line := `{"jsonrpc":"2.0","id":1,"method":"x","params":"` + strings.Repeat("a", 200) + `"}` + "\n"
	c := connect(t, func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
		return &Transport{Reader: r, Writer: w, MaxLineLength: 100}
	}, line, discard{})
	if _, err := c.Read(context.Background()); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("Read of a %d-byte line with a bound of 100: %v, want errFrameTooLarge", len(line), err)
	}
}

// TestBatchRefusedAfterSecondInitialize: go-sdk's session answers a
// second initialize with an error and keeps the version it negotiated, so
// that batches stay refused after 2025-06-18; the error must not make the
// connection forget that version, whichever initialize it reads last.
func TestBatchRefusedAfterSecondInitialize(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":"i","method":"initialize","params":{}}` + "\n" +
		`{"jsonrpc":"2.0","id":"j","method":"initialize","params":{}}` + "\n" +
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]` + "\n"
	c := connect(t, ourTransport, in, discard{})
	readAll(t, c, 2)
	for _, a := range []*jsonrpc.Response{
		{ID: mustID(t, "i"), Result: []byte(`{"protocolVersion":"2025-06-18"}`)},
		{ID: mustID(t, "j"), Error: &jsonrpc.Error{Code: -32603, Message: `duplicate "initialize" received`}},
	} {
		if err := c.Write(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if msg, err := c.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "batching is not supported") {
		t.Errorf("a batch after 2025-06-18 and a refused second initialize: read %v, %v; want batching refused", msg, err)
	}
}

// TestReadAfterCloseIsEOF: Close returns a waiting Read with io.EOF, never
// with the error the closed input gave the reading goroutine, which Read
// could receive first (TestCloseEndsRead failed so 1 run in 6 under -race).
func TestReadAfterCloseIsEOF(t *testing.T) {
	for range 50 {
		r, w := io.Pipe()
		c, err := (&Transport{Reader: r, Writer: discard{}}).Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := readDuring(t, c, context.Background(), time.Millisecond, closeConn(t, c)); !errors.Is(err, io.EOF) {
			t.Fatalf("Read waiting at Close: %v, want io.EOF", err)
		}
		w.Close()
	}
}
