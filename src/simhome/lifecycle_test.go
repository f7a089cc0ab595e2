package simhome_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// serverGoroutines lists goroutines running code of a fake server.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "simhome.(*") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "net/http.(*Server).Serve") {
			if !strings.Contains(g, "lifecycle_test.go") {
				out = append(out, g)
			}
		}
	}
	return out
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := simhome.New(simhome.Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events"}))
	_ = dial(t, s) // left in the auth phase
	if code, _ := httpDo(t, s, "GET", "/states", ""); code != 200 {
		t.Fatalf("GET /api/states = %d", code)
	}
	s.Close()
	// net/http ends a connection goroutine right after its ConnState hook.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := serverGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
