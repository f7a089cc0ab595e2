package hass_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestMain fails the run if any goroutine of package hass outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoClientGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of package hass leaked:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// clientGoroutines returns the stacks of live goroutines running code of
// package hass (not hass_test, not simhome).
func clientGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out strings.Builder
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "mcp-bridge/src/hass.") {
			out.WriteString(g + "\n\n")
		}
	}
	return out.String()
}

// waitNoClientGoroutines polls until no goroutine of package hass is left
// and returns their stacks if some still are after timeout.
func waitNoClientGoroutines(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := clientGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig returns a client config for srv with short backoffs.
func testConfig(t testing.TB, srv *simhome.Server) hass.Config {
	return hass.Config{
		RESTURL:      srv.RESTURL(),
		WebSocketURL: srv.WebSocketURL(),
		Token:        srv.Token(),
		Logger:       zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
		MinBackoff:   20 * time.Millisecond,
		MaxBackoff:   200 * time.Millisecond,
	}
}

// startClient creates a client for cfg and runs it until the test ends;
// cleanup checks that Run returns nil.
func startClient(t testing.TB, cfg hass.Config) *hass.Client {
	t.Helper()
	c, err := hass.New(cfg)
	if err != nil {
		t.Fatalf("hass.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return c
}

// waitFor polls cond until it holds or fails the test after a generous
// deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitConnected(t testing.TB, c *hass.Client) {
	t.Helper()
	waitFor(t, "client connected", func() bool { return c.Status().Connected })
}

// nextEvent returns the next event of s or fails the test.
func nextEvent(t *testing.T, s *hass.Subscription) hass.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for an event")
	}
	return hass.Event{}
}

// testCtx is the test's context with a deadline, so that a bug shows as a
// failure rather than a hung test binary.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
