package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestMain(m *testing.M) {
	echoMain()      // the floor's echo child is this test binary
	pooltest.Main() // so are the bridge's children
	os.Exit(m.Run())
}

// TestSmoke runs the harness briefly with each Go child: every server
// answers, every answer is checked, and the report has a row per level and
// server. It asserts no speed.
func TestSmoke(t *testing.T) {
	for _, kind := range []string{childFast, childSDK} {
		t.Run(kind, func(t *testing.T) {
			var out bytes.Buffer
			o := options{duration: 300 * time.Millisecond, rounds: 2, levels: []int{1, 4}, children: 2, inflight: 2, child: kind, skipPeer: true}
			ok, err := run(t.Context(), o, &out)
			if err != nil || !ok {
				t.Fatalf("run = %v, %v\n%s", ok, err, out.String())
			}
			for _, want := range []string{"| 1 | floor |", "| 4 | REST |", "| 4 | REST-cache-hit |", "| 4 | Streamable |", "| 4 | SSE |",
				"wrong or failed answers: 0", "child: " + kind} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestDrivers runs each MCP driver against the bridge with many sessions
// at once, with the fast child, and against mcp-proxy when it is installed
// (npm ci --prefix loadtest/npm): no call may fail or get another's answer.
func TestDrivers(t *testing.T) {
	o := options{children: 1, inflight: 8, child: childFast, npmDir: "npm"}
	ch, err := newChild(o)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.cleanup()
	st, err := startStack(t.Context(), o, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	targets := []target{st.restTarget(ch.calls), st.cacheHitTarget(ch.calls), st.streamableTarget(ch.calls), st.sseTarget(ch.calls)}
	if _, err := os.Stat(peerScript(o.npmDir)); err == nil {
		pr, err := startPeer(o.npmDir, ch, []string{"--no-eventStore"})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.stop()
		targets = append(targets, streamableTarget(peerStreamable, mcpEndpoint{url: pr.url + "/mcp"}, ch.calls),
			sseTarget(peerSSE, mcpEndpoint{url: pr.url + "/sse"}, ch.calls))
	} else {
		t.Log("mcp-proxy not installed (npm ci --prefix loadtest/npm): its drivers are not tested")
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			res := driveAtLeast(t, tg, 16, 16, 300*time.Millisecond)
			if res.requests < 16 || res.wrong != 0 {
				t.Errorf("%d requests, %d wrong, first failure: %v", res.requests, res.wrong, res.firstErr)
			}
		})
	}
}

// TestDriversCatchWrongAnswers makes sure a driver whose server answers
// another call's arguments reports it.
func TestDriversCatchWrongAnswers(t *testing.T) {
	o := options{children: 1, inflight: 8, child: childFast}
	ch, err := newChild(o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := startStack(t.Context(), o, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	off := ch.calls
	off.args = func(b []byte, w, i int) []byte { return echoCalls.args(b, w, i+1) } // asks for the next call's
	for _, tg := range []target{st.restTarget(off), st.cacheHitTarget(off), st.streamableTarget(off), st.sseTarget(off)} {
		res := driveAtLeast(t, tg, 2, 1, 100*time.Millisecond)
		if res.requests == 0 || res.wrong != res.requests {
			t.Errorf("%s: %d of %d wrong answers caught", tg.name, res.wrong, res.requests)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-duration", "2s", "-levels", "1, 16", "-child", "everything", "-peer-args", "--stateless --debug"})
	if err != nil || o.duration != 2*time.Second || len(o.levels) != 2 || o.levels[1] != 16 || o.child != childEverything || len(o.peerArgs) != 2 {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-levels", "0"}, {"-levels", "x"}, {"-duration", "0s"}, {"-children", "0"}, {"-child", "python"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

// TestSSEReader reads events split over several data lines, with comments,
// CRLF line ends and no event name.
func TestSSEReader(t *testing.T) {
	in := ": keep-alive\r\n\r\nevent: endpoint\r\ndata: /sse?sessionid=1\r\n\r\nid: 7\ndata: {\"a\":\ndata: 1}\n\n"
	r := newSSEReader(strings.NewReader(in))
	for _, want := range [][2]string{{"endpoint", "/sse?sessionid=1"}, {"message", "{\"a\":\n1}"}} {
		ev, data, err := r.next()
		if err != nil || ev != want[0] || string(data) != want[1] {
			t.Errorf("next = %q, %q, %v; want %q, %q", ev, data, err, want[0], want[1])
		}
	}
	if _, _, err := r.next(); err == nil {
		t.Error("no error at the end of the stream")
	}
}

// TestCheckEcho makes sure a wrong answer is caught.
func TestCheckEcho(t *testing.T) {
	good := []byte(`{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"w":3,"i":7}}}`)
	if err := checkEcho(3, 7, good); err != nil {
		t.Errorf("correct answer refused: %v", err)
	}
	for _, bad := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"w":3,"i":7}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"\"structuredContent\":{\"w\":3,\"i\":7}"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"w":3,"i":8}}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"w":3,"i":7},"isError":true}}`,
		`{"result":{}}`, `oops`,
	} {
		if checkEcho(3, 7, []byte(bad)) == nil {
			t.Errorf("wrong answer accepted: %s", bad)
		}
	}
}

// serveEchoRelay serves h, a relay to an echo child that started with
// error err, until the test ends, then stops the child with stop.
func serveEchoRelay(t *testing.T, h http.Handler, err error, stop func() error) *httptest.Server {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := stop(); err != nil {
			t.Errorf("echo child: %v", err)
		}
	})
	return srv
}

// refusesNewline checks that the relay at url refuses a body of two lines
// (one call is one line to the echo child) with 400.
func refusesNewline(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader("two\nlines"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body with a newline got %d, want 400", resp.StatusCode)
	}
}

// TestRelay checks the floor's relay end to end with its real echo child,
// and that a wrong echo is caught.
func TestRelay(t *testing.T) {
	rl, err := startRelay()
	srv := serveEchoRelay(t, rl, err, rl.close)
	res := drive(t.Context(), postTarget("floor", srv.URL, "", callBody, checkRelay), 4, 200*time.Millisecond)
	if res.requests == 0 || res.wrong != 0 {
		t.Fatalf("relay: %d requests, %d wrong, first failure: %v", res.requests, res.wrong, res.firstErr)
	}
	refusesNewline(t, srv.URL)
	if checkRelay(1, 2, []byte(`{"name":"echo","arguments":{"w":1,"i":3}}`)) == nil {
		t.Error("checkRelay accepted another call's body")
	}
}

// TestMuxRelay checks the multiplexing floor end to end with its real echo
// child: 32 workers at once, each answer matched to its own call.
func TestMuxRelay(t *testing.T) {
	mx, err := startMuxRelay()
	srv := serveEchoRelay(t, mx, err, mx.close)
	res := driveAtLeast(t, postTarget(muxFloor, srv.URL, "", callBody, checkRelay), 32, 500, 200*time.Millisecond)
	if res.requests < 500 || res.wrong != 0 {
		t.Fatalf("multiplexing relay: %d requests, %d wrong, first failure: %v", res.requests, res.wrong, res.firstErr)
	}
	refusesNewline(t, srv.URL)
}

// TestEcho checks the echo child's loop on lines longer than its buffer
// and on a last line without a newline.
func TestEcho(t *testing.T) {
	in := strings.Repeat("x", 100<<10) + "\nshort\nlast"
	var out bytes.Buffer
	if err := echo(strings.NewReader(in), &out); err != nil || out.String() != in {
		t.Errorf("echo = %v, %d bytes out of %d, equal %v", err, out.Len(), len(in), out.String() == in)
	}
}

// driveAtLeast drives tg with c sessions for d at a time until at least n
// calls were answered in all (a call still running when d ends does not
// count; on a busy machine a short run may answer none), at most 50 times.
func driveAtLeast(t *testing.T, tg target, c, n int, d time.Duration) result {
	t.Helper()
	var total result
	for range 50 {
		total = total.merge(drive(t.Context(), tg, c, d))
		if total.requests >= n {
			break
		}
	}
	return total
}

// TestIsAnswerTo checks the load client's routing of a JSON-RPC message
// by id, on the fast path and off it.
func TestIsAnswerTo(t *testing.T) {
	for _, tc := range []struct {
		msg     string
		ok, err bool
	}{
		{`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`, true, false},
		{`{"result":{"content":[]},"jsonrpc":"2.0","id":7}`, true, false},
		{` { "id" : 7 , "jsonrpc" : "2.0", "result" : {} } `, true, false},
		{`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"bad"}}`, true, true},
		{`{"jsonrpc":"2.0","id":8,"result":{}}`, false, true},
		{`{"jsonrpc":"2.0","id":"7","result":{}}`, false, true},
		{`{"jsonrpc":"2.0","id":7,"id":8,"result":{}}`, false, true},
		{`{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}`, false, false},
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{}}`, false, false},
		{`{"jsonrpc":"2.0","id":7,"result":`, false, true},
		{`not json`, false, true},
	} {
		ok, err := isAnswerTo([]byte(tc.msg), 7)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("isAnswerTo(%s, 7) = %v, %v; want %v, error %v", tc.msg, ok, err, tc.ok, tc.err)
		}
	}
}
