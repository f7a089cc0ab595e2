package hass_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestConcurrentCommands(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	waitConnected(t, c)

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			got, err := c.RenderTemplate(testCtx(t), "caller {{ caller }}", map[string]any{"caller": i})
			if want := fmt.Sprintf("caller %d", i); err != nil || got != want {
				errs <- fmt.Errorf("caller %d: RenderTemplate = %q, %v; want %q", i, got, err, want)
			}
		})
		wg.Go(func() {
			entity := fmt.Sprintf("input_text.caller_%d", i)
			srv.SetState(entity, strconv.Itoa(i), nil)
			got, err := c.GetState(testCtx(t), entity)
			if err != nil || got.State != strconv.Itoa(i) {
				errs <- fmt.Errorf("caller %d: GetState = %q, %v", i, got.State, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServiceError(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	srv.FailService("light", "turn_on", "bulb on fire")
	_, err := c.CallService(testCtx(t), hass.ServiceCall{Domain: "light", Service: "turn_on",
		Target: map[string]any{"entity_id": "light.kitchen"}})
	var haErr *hass.Error
	if !errors.As(err, &haErr) || !strings.Contains(haErr.Message, "bulb on fire") {
		t.Fatalf("CallService on a failing service = %v, want *hass.Error with the message", err)
	}
	srv.ClearFailures()
	if _, err := c.CallService(testCtx(t), hass.ServiceCall{Domain: "nope", Service: "nothing"}); !errors.As(err, &haErr) {
		t.Errorf("CallService of an unknown service = %v, want *hass.Error", err)
	}
	if err := c.Command(testCtx(t), map[string]any{"type": "no_such_command"}, nil); !errors.As(err, &haErr) || haErr.Code != "unknown_command" {
		t.Errorf("unknown command = %v, want *hass.Error unknown_command", err)
	}
	if _, err := c.RenderTemplate(testCtx(t), "{{ broken", nil); !errors.As(err, &haErr) {
		t.Errorf("broken template = %v, want *hass.Error", err)
	}
	if err := c.Command(testCtx(t), map[string]any{"id": 5, "type": "ping"}, nil); err == nil {
		t.Error("a command with its own id was accepted")
	}
}

// scriptedHA is a minimal Home Assistant WebSocket endpoint for wire-level
// tests: it authenticates, answers ping and supported_features, checks that
// ids increase, and hands "echo" commands to batch, which answers them.
type scriptedHA struct {
	t     *testing.T
	batch func(ws *websocket.Conn, cmds []map[string]any) // called with every `size` echo commands
	size  int
}

func (s *scriptedHA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	if scriptedAuth(ctx, ws) != nil {
		return
	}
	var lastID float64
	var pending []map[string]any
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var cmd map[string]any
		if err := json.Unmarshal(data, &cmd); err != nil {
			s.t.Errorf("client sent %q: %v", data, err)
			return
		}
		id, _ := cmd["id"].(float64)
		if id <= lastID {
			s.t.Errorf("id %v after %v: ids must increase", cmd["id"], lastID)
		}
		lastID = id
		switch cmd["type"] {
		case "ping":
			err = scriptedSend(ctx, ws, map[string]any{"id": id, "type": "pong"})
		case "echo":
			if pending = append(pending, cmd); len(pending) == s.size {
				s.batch(ws, pending)
				pending = nil
			}
		default:
			err = scriptedSend(ctx, ws, map[string]any{"id": id, "type": "result", "success": true, "result": nil})
		}
		if err != nil {
			return
		}
	}
}

// scriptedAuth runs the auth phase, accepting any token.
func scriptedAuth(ctx context.Context, ws *websocket.Conn) error {
	if err := scriptedSend(ctx, ws, map[string]any{"type": "auth_required", "ha_version": "0.0.1"}); err != nil {
		return err
	}
	if _, _, err := ws.Read(ctx); err != nil {
		return err
	}
	return scriptedSend(ctx, ws, map[string]any{"type": "auth_ok", "ha_version": "0.0.1"})
}

func scriptedSend(ctx context.Context, ws *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, data)
}

func TestCoalescedFrames(t *testing.T) {
	const n = 50
	ha := &scriptedHA{t: t, size: n, batch: func(ws *websocket.Conn, cmds []map[string]any) {
		// One frame: every answer in reverse order, plus noise the client
		// must ignore: an answer and an event nobody waits for.
		frame := []any{
			map[string]any{"id": 1e6, "type": "result", "success": true, "result": "stray"},
			map[string]any{"id": 1e6 + 1, "type": "event", "event": map[string]any{}},
		}
		for i := len(cmds) - 1; i >= 0; i-- {
			frame = append(frame, map[string]any{"id": cmds[i]["id"], "type": "result", "success": true,
				"result": map[string]any{"echo": cmds[i]["n"]}})
		}
		data, _ := json.Marshal(frame)
		if err := ws.Write(context.Background(), websocket.MessageText, data); err != nil {
			t.Errorf("writing coalesced frame: %v", err)
		}
	}}
	web := httptest.NewServer(ha)
	t.Cleanup(web.Close)
	c := startClient(t, hass.Config{
		RESTURL:      web.URL + "/api",
		WebSocketURL: "ws" + strings.TrimPrefix(web.URL, "http") + "/api/websocket",
		Token:        "t",
	})

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got struct{ Echo int }
			err := c.Command(testCtx(t), map[string]any{"type": "echo", "n": i}, &got)
			if err != nil || got.Echo != i {
				t.Errorf("caller %d got %d, %v", i, got.Echo, err)
			}
		})
	}
	wg.Wait()
}

func TestConnectionLostFailsPending(t *testing.T) {
	const n = 10
	var batches atomic.Int32
	ha := &scriptedHA{t: t, size: n, batch: func(ws *websocket.Conn, cmds []map[string]any) {
		if batches.Add(1) == 1 {
			ws.CloseNow() // every command was sent; none is answered
			return
		}
		for _, cmd := range cmds {
			data, _ := json.Marshal(map[string]any{"id": cmd["id"], "type": "result", "success": true, "result": cmd["n"]})
			if err := ws.Write(context.Background(), websocket.MessageText, data); err != nil {
				return
			}
		}
	}}
	web := httptest.NewServer(ha)
	t.Cleanup(web.Close)
	c := startClient(t, hass.Config{
		RESTURL:      web.URL + "/api",
		WebSocketURL: "ws" + strings.TrimPrefix(web.URL, "http") + "/api/websocket",
		Token:        "t",
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
	})

	round := func(check func(i, got int, err error)) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var got int
				err := c.Command(testCtx(t), map[string]any{"type": "echo", "n": i}, &got)
				check(i, got, err)
			})
		}
		wg.Wait()
	}
	round(func(i, _ int, err error) {
		if !errors.Is(err, hass.ErrConnectionLost) {
			t.Errorf("caller %d: %v, want ErrConnectionLost", i, err)
		}
	})
	round(func(i, got int, err error) {
		if err != nil || got != i {
			t.Errorf("caller %d after reconnect: %d, %v", i, got, err)
		}
	})
}
