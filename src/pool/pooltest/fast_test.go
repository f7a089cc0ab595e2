package pooltest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// countingWriter counts the writes that reach it.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// serveLines runs a fast child over the input and returns its answers, one
// per line, and how many writes carried them.
func serveLines(t *testing.T, opts ChildOptions, in string) ([]string, int) {
	t.Helper()
	c := &child{opts: opts, rec: &recorder{}}
	var out countingWriter
	if err := c.serveFast(strings.NewReader(in), &out); err != nil {
		t.Fatalf("serveFast: %v", err)
	}
	var lines []string
	sc := bufio.NewScanner(&out.Buffer)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, out.writes
}

func TestFastAnswers(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means no answer
	}{
		{"initialize", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"capabilities":{"tools":{"listChanged":false}},"instructions":"pooltest child (fast)","protocolVersion":"2025-06-18","serverInfo":{"name":"pooltest","version":"1.0.0"}}}`},
		{"initialize unknown version", `{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2099-01-01"}}`,
			`{"jsonrpc":"2.0","id":"a","result":{"capabilities":{"tools":{"listChanged":false}},"instructions":"pooltest child (fast)","protocolVersion":"2025-11-25","serverInfo":{"name":"pooltest","version":"1.0.0"}}}`},
		{"initialize without version", `{"jsonrpc":"2.0","id":2,"method":"initialize","params":{}}`,
			`{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"initialize: protocolVersion is required"}}`},
		{"initialized", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, ``},
		{"cancelled", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, ``},
		{"ping", `{"jsonrpc":"2.0","id":3,"method":"ping"}`, `{"jsonrpc":"2.0","id":3,"result":{}}`},
		{"tools/list", `{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{}}`, `{"jsonrpc":"2.0","id":4,"result":` + fastTools + `}`},
		{"echo", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"s":"a\"b\\c\u0001","n":[1,2]}}}`,
			`{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"{\"s\":\"a\\\"b\\\\c\\u0001\",\"n\":[1,2]}"}],"structuredContent":{"s":"a\"b\\c\u0001","n":[1,2]}}}`},
		{"echo without arguments", `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo"}}`,
			`{"jsonrpc":"2.0","id":6,"result":{"content":[{"type":"text","text":"{}"}],"structuredContent":{}}}`},
		{"echo with a list", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":[1]}}`,
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"tools/call: arguments must be an object"}}`},
		{"unknown tool", `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"nope"}}`,
			`{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"unknown tool \"nope\""}}`},
		{"unknown method", `{"jsonrpc":"2.0","id":9,"method":"server/discover"}`,
			`{"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"method not found: server/discover"}}`},
		{"bad version", `{"jsonrpc":"1.0","id":10,"method":"ping"}`,
			`{"jsonrpc":"2.0","id":10,"error":{"code":-32600,"message":"jsonrpc must be \"2.0\""}}`},
		{"response", `{"jsonrpc":"2.0","id":11,"result":{}}`, ``},
		{"empty line", "  \r", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := serveLines(t, ChildOptions{Name: "pooltest"}, tt.in+"\n")
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			for _, line := range got {
				if !json.Valid([]byte(line)) {
					t.Errorf("answer is not JSON: %s", line)
				}
			}
		})
	}
}

func TestFastParseError(t *testing.T) {
	got, _ := serveLines(t, ChildOptions{}, "{oops\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,`) {
		t.Errorf("answers = %q, want one parse error", got)
	}
}

func TestFastFailInitialize(t *testing.T) {
	got, _ := serveLines(t, ChildOptions{FailInitialize: true}, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}`+"\n")
	want := []string{`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"pooltest: initialize refused as asked"}}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestFastBatches: requests that arrive together are answered in order,
// with one write.
func TestFastBatches(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 50 {
		id := strconv.Itoa(i)
		in.WriteString(`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}` + "\n")
		want = append(want, `{"jsonrpc":"2.0","id":`+id+`,"result":{}}`)
	}
	got, writes := serveLines(t, ChildOptions{}, in.String())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if writes != 1 {
		t.Errorf("answers took %d writes, want 1", writes)
	}
}

// TestFastPartialLine: a complete request is answered before the next one
// is whole, and a last line without a newline is answered at EOF.
func TestFastPartialLine(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	got, writes := serveLines(t, ChildOptions{}, in)
	want := []string{`{"jsonrpc":"2.0","id":1,"result":{}}`, `{"jsonrpc":"2.0","id":2,"result":{}}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if writes != 2 {
		t.Errorf("answers took %d writes, want 2 (the first must not wait for the second)", writes)
	}
}

func TestFastLongLine(t *testing.T) {
	big := strings.Repeat("x", 200<<10) // several times the read buffer
	in := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"s":"` + big + `"}}}` + "\n"
	got, _ := serveLines(t, ChildOptions{}, in)
	if len(got) != 1 || !strings.Contains(got[0], `"structuredContent":{"s":"`+big+`"}`) {
		t.Fatalf("long echo not answered whole (%d answers)", len(got))
	}
	tooLong := `{"s":"` + strings.Repeat("y", maxFastLine) + "\"}\n" + `{"jsonrpc":"2.0","id":2,"method":"ping"}` + "\n"
	got, _ = serveLines(t, ChildOptions{}, tooLong)
	want := []string{`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: request longer than 16777216 bytes"}}`,
		`{"jsonrpc":"2.0","id":2,"result":{}}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestFastWithSDKClient checks the fast child against go-sdk's client, as a
// real MCP client would use it.
func TestFastWithSDKClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	argv := Command()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), Env(ChildOptions{Fast: true, Name: "fasty"})...)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()
	if got := cs.InitializeResult().ServerInfo.Name; got != "fasty" {
		t.Errorf("serverInfo.name = %q, want fasty", got)
	}
	if err := cs.Ping(ctx, nil); err != nil {
		t.Errorf("Ping: %v", err)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "echo" || !tools.Tools[0].Annotations.ReadOnlyHint {
		t.Fatalf("ListTools = %+v, %v", tools, err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"x": "y\"z"}})
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	text, _ := res.Content[0].(*mcp.TextContent)
	if res.IsError || text == nil || text.Text != `{"x":"y\"z"}` {
		t.Errorf("CallTool = %+v", res)
	}
	if diff := cmp.Diff(map[string]any{"x": `y"z`}, res.StructuredContent); diff != "" {
		t.Errorf("structuredContent (-want +got):\n%s", diff)
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "nope"}); err == nil {
		t.Error("CallTool(nope) succeeded")
	}
}

// FuzzFastServer: any input is answered with JSON lines, never a panic.
func FuzzFastServer(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":"\t"}}}`)
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}` + "\n[]\n{}")
	f.Fuzz(func(t *testing.T, in string) {
		c := &child{opts: ChildOptions{}, rec: &recorder{}}
		var out bytes.Buffer
		if err := c.serveFast(strings.NewReader(in), &out); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				t.Errorf("answer is not JSON: %q", sc.Text())
			}
		}
	})
}
