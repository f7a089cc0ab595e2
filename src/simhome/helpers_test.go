package simhome_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// fixedClock is a deterministic clock for state timestamps.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return t }
}

// wsClient is a raw WebSocket client speaking Home Assistant's protocol.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	nextID int
	queue  []map[string]any // messages read but not yet consumed
	held   []map[string]any // messages skipped by waitFor, returned first by read
	frames int              // text frames read
}

func dial(t testing.TB, s *simhome.Server) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.WebSocketURL(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c}
}

// connect dials and authenticates.
func connect(t testing.TB, s *simhome.Server) *wsClient {
	t.Helper()
	w := dial(t, s)
	if m := w.read(); m["type"] != "auth_required" {
		t.Fatalf("first message = %v, want auth_required", m)
	}
	w.send(map[string]any{"type": "auth", "access_token": s.Token()})
	if m := w.read(); m["type"] != "auth_ok" {
		t.Fatalf("auth answer = %v, want auth_ok", m)
	}
	return w
}

func (w *wsClient) send(msg any) {
	w.t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(w.t.Context(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one text frame and returns its raw bytes.
func (w *wsClient) readFrame() ([]byte, error) {
	ctx, cancel := context.WithTimeout(w.t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err == nil {
		w.frames++
	}
	return b, err
}

// read returns the next message, splitting coalesced frames.
func (w *wsClient) read() map[string]any {
	w.t.Helper()
	if len(w.held) > 0 {
		m := w.held[0]
		w.held = w.held[1:]
		return m
	}
	return w.readNew()
}

func (w *wsClient) readNew() map[string]any {
	w.t.Helper()
	for len(w.queue) == 0 {
		b, err := w.readFrame()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		w.queue = append(w.queue, decodeFrame(w.t, b)...)
	}
	m := w.queue[0]
	w.queue = w.queue[1:]
	return m
}

func decodeFrame(t testing.TB, b []byte) []map[string]any {
	t.Helper()
	if len(b) > 0 && b[0] == '[' {
		var list []map[string]any
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		return list
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return []map[string]any{m}
}

// command sends a command with the next id and returns that id.
func (w *wsClient) command(msg map[string]any) int {
	w.nextID++
	msg["id"] = w.nextID
	w.send(msg)
	return w.nextID
}

// result sends a command and returns its result message, skipping events.
func (w *wsClient) result(msg map[string]any) map[string]any {
	w.t.Helper()
	id := w.command(msg)
	return w.waitFor(func(m map[string]any) bool { return m["type"] == "result" && m["id"] == float64(id) })
}

// waitFor returns the first message that matches, held ones first;
// the others are held for read.
func (w *wsClient) waitFor(match func(map[string]any) bool) map[string]any {
	w.t.Helper()
	for i, m := range w.held {
		if match(m) {
			w.held = append(w.held[:i:i], w.held[i+1:]...)
			return m
		}
	}
	for {
		m := w.readNew()
		if match(m) {
			return m
		}
		w.held = append(w.held, m)
	}
}

// mustSucceed returns the "result" of a successful result message.
func mustSucceed(t testing.TB, m map[string]any) any {
	t.Helper()
	if m["success"] != true {
		t.Fatalf("command failed: %v", m)
	}
	return m["result"]
}

// httpDo sends a REST request with the token and returns status and body.
func httpDo(t *testing.T, s *simhome.Server, method, path, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.RESTURL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
