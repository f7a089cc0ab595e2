package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestMain(m *testing.M) {
	pooltest.Main() // the bridge's children are this test binary
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
			for _, want := range []string{"| 1 |", "| 4 |", "wrong or failed answers: 0", childKind(sdk) + " stdio children"} {
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
