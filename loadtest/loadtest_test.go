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

// TestSmoke runs the harness briefly with each kind of child: both servers
// answer, every answer is checked, and the report has a row per level. It
// asserts no speed.
func TestSmoke(t *testing.T) {
	for _, sdk := range []bool{false, true} {
		t.Run(childKind(sdk), func(t *testing.T) {
			var out bytes.Buffer
			o := options{duration: 300 * time.Millisecond, levels: []int{1, 4}, children: 2, inflight: 2, sdkChild: sdk}
			ok, err := run(t.Context(), o, &out)
			if err != nil || !ok {
				t.Fatalf("run = %v, %v\n%s", ok, err, out.String())
			}
			for _, want := range []string{"| 1 |", "| 4 |", "floor (bare server relaying", "wrong or failed answers: 0", childKind(sdk) + " stdio children"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-duration", "2s", "-levels", "1, 16", "-sdk-child"})
	if err != nil || o.duration != 2*time.Second || len(o.levels) != 2 || o.levels[1] != 16 || !o.sdkChild {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-levels", "0"}, {"-levels", "x"}, {"-duration", "0s"}, {"-children", "0"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
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

// TestRelay checks the floor's relay end to end with its real echo child,
// and that a wrong echo is caught.
func TestRelay(t *testing.T) {
	rl, err := startRelay()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	defer func() {
		srv.Close()
		if err := rl.close(); err != nil {
			t.Errorf("echo child: %v", err)
		}
	}()
	res := drive(t.Context(), target{name: "floor", url: srv.URL, check: checkRelay}, 4, 200*time.Millisecond)
	if res.requests == 0 || res.wrong != 0 {
		t.Fatalf("relay: %d requests, %d wrong, first failure: %v", res.requests, res.wrong, res.firstErr)
	}
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader("two\nlines"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body with a newline got %d, want 400", resp.StatusCode)
	}
	if checkRelay(1, 2, []byte(`{"name":"echo","arguments":{"w":1,"i":3}}`)) == nil {
		t.Error("checkRelay accepted another call's body")
	}
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
