package simhome_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestAuthOK(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{Version: "2026.1.0"})
	w := dial(t, s)
	if got := w.read(); got["type"] != "auth_required" || got["ha_version"] != "2026.1.0" {
		t.Fatalf("got %v, want auth_required with ha_version 2026.1.0", got)
	}
	w.send(map[string]any{"type": "auth", "access_token": s.Token()})
	if got := w.read(); got["type"] != "auth_ok" || got["ha_version"] != "2026.1.0" {
		t.Fatalf("got %v, want auth_ok", got)
	}
	waitConnections(t, s, 1)
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, w *wsClient) {
	t.Helper()
	_, err := w.readFrame()
	if err == nil {
		t.Fatal("connection still open, want it closed")
	}
}

func TestAuthInvalid(t *testing.T) {
	tests := []struct {
		name string
		msg  any
		want string
	}{
		{"wrong token", map[string]any{"type": "auth", "access_token": "nope"}, "Invalid access token or password"},
		{"command before auth", map[string]any{"id": 1, "type": "get_states"},
			"Auth message incorrectly formatted: extra keys not allowed @ data['id']. Got 1\nnot a valid value for dictionary value @ data['type']. Got 'get_states'"},
		{"token not a string", map[string]any{"type": "auth", "access_token": 5},
			"Auth message incorrectly formatted: expected str for dictionary value @ data['access_token']. Got 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := simhome.NewServer(t, simhome.Options{})
			w := dial(t, s)
			w.read() // auth_required
			w.send(tt.msg)
			got := w.read()
			if got["type"] != "auth_invalid" || got["message"] != tt.want {
				t.Errorf("got %v, want auth_invalid %q", got, tt.want)
			}
			_, err := w.readFrame()
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Errorf("close = %v, want a normal closure", err)
			}
			if n := s.Connections(); n != 0 {
				t.Errorf("Connections() = %d, want 0", n)
			}
		})
	}
}

func TestInvalidJSONBeforeAuthDisconnects(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := dial(t, s)
	w.read()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, w)
}

func TestCommandErrors(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	tests := []struct {
		name     string
		msg      map[string]any
		wantID   any
		wantCode string
		wantMsg  string
	}{
		{"unknown command", map[string]any{"id": 1, "type": "frobnicate"}, float64(1), "unknown_command", "Unknown command."},
		{"missing id", map[string]any{"type": "ping"}, nil, "invalid_format", "Message incorrectly formatted."},
		{"float id", map[string]any{"id": 2.5, "type": "ping"}, 2.5, "invalid_format", "Message incorrectly formatted."},
		{"schema", map[string]any{"id": 2, "type": "call_service", "service": "turn_on"}, float64(2), "invalid_format",
			"required key not provided @ data['domain']. Got None"},
		{"extra key", map[string]any{"id": 3, "type": "get_states", "bogus": true}, float64(3), "invalid_format",
			"extra keys not allowed @ data['bogus']. Got True"},
		{"id reuse", map[string]any{"id": 3, "type": "ping"}, float64(3), "id_reuse", "Identifier values have to increase."},
	}
	for _, tt := range tests {
		w.send(tt.msg)
		got := w.read()
		errObj, _ := got["error"].(map[string]any)
		if got["id"] != tt.wantID || got["success"] != false || errObj["code"] != tt.wantCode || errObj["message"] != tt.wantMsg {
			t.Errorf("%s: got %v, want id %v error %s %q", tt.name, got, tt.wantID, tt.wantCode, tt.wantMsg)
		}
	}
}

func TestPing(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	id := w.command(map[string]any{"type": "ping"})
	if got := w.read(); got["type"] != "pong" || got["id"] != float64(id) {
		t.Fatalf("got %v, want pong with id %d", got, id)
	}
}

func TestCoalescedFrames(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "supported_features", "features": map[string]any{"coalesce_messages": 1}}))
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events"}))
	id := w.command(map[string]any{"type": "call_service", "domain": "light", "service": "turn_on",
		"target": map[string]any{"entity_id": "light.kitchen_spots"}})
	frame, err := w.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(frame), "[") {
		t.Fatalf("frame %s is not a coalesced array", frame)
	}
	var types []string
	for _, m := range decodeFrame(t, frame) {
		if m["type"] == "event" {
			types = append(types, m["event"].(map[string]any)["event_type"].(string))
		} else {
			types = append(types, m["type"].(string))
			if m["id"] != float64(id) {
				t.Errorf("result id = %v, want %d", m["id"], id)
			}
		}
	}
	want := []string{"call_service", "state_changed", "result"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("frame holds %v, want %v", types, want)
	}
}

func TestNoCoalescingByDefault(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events"}))
	w.command(map[string]any{"type": "call_service", "domain": "light", "service": "turn_on",
		"target": map[string]any{"entity_id": "light.kitchen_spots"}})
	for range 3 {
		frame, err := w.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(frame), "[") {
			t.Fatalf("got coalesced frame %s without supported_features", frame)
		}
	}
}

func TestFireStatesCoalesced(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "supported_features", "features": map[string]any{"coalesce_messages": 1}}))
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "state_changed"}))
	s.FireStates(
		simhome.StateUpdate{EntityID: "sensor.kitchen_temperature", State: "23.0"},
		simhome.StateUpdate{EntityID: "sensor.bedroom_temperature", State: "20.0"},
		simhome.StateUpdate{EntityID: "binary_sensor.garage_motion", State: "on"},
	)
	frame, err := w.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	msgs := decodeFrame(t, frame)
	if len(msgs) != 3 {
		t.Fatalf("frame has %d messages, want 3: %s", len(msgs), frame)
	}
	for i, want := range []string{"sensor.kitchen_temperature", "sensor.bedroom_temperature", "binary_sensor.garage_motion"} {
		data := msgs[i]["event"].(map[string]any)["data"].(map[string]any)
		if data["entity_id"] != want {
			t.Errorf("event %d entity_id = %v, want %s", i, data["entity_id"], want)
		}
	}
}

func TestSubscribeUnsubscribe(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	subID := w.command(map[string]any{"type": "subscribe_events", "event_type": "state_changed"})
	if got := w.read(); got["success"] != true || got["result"] != nil {
		t.Fatalf("subscribe answer = %v", got)
	}
	if n := s.Subscriptions(); n != 1 {
		t.Fatalf("Subscriptions() = %d, want 1", n)
	}
	s.SetState("switch.coffee_machine", "on", nil)
	ev := w.read()
	if ev["type"] != "event" || ev["id"] != float64(subID) {
		t.Fatalf("got %v, want an event for subscription %d", ev, subID)
	}
	event := ev["event"].(map[string]any)
	if event["event_type"] != "state_changed" || event["origin"] != "LOCAL" || event["time_fired"] == nil || event["context"] == nil {
		t.Errorf("event = %v, want a state_changed with origin, time_fired and context", event)
	}
	mustSucceed(t, w.result(map[string]any{"type": "unsubscribe_events", "subscription": subID}))
	if n := s.Subscriptions(); n != 0 {
		t.Fatalf("Subscriptions() = %d after unsubscribe, want 0", n)
	}
	s.SetState("switch.coffee_machine", "off", nil)
	// A ping answered with nothing before it proves no event was queued.
	id := w.command(map[string]any{"type": "ping"})
	if got := w.read(); got["type"] != "pong" || got["id"] != float64(id) {
		t.Fatalf("got %v after unsubscribe, want the pong", got)
	}
	got := w.result(map[string]any{"type": "unsubscribe_events", "subscription": subID})
	if e, _ := got["error"].(map[string]any); e["code"] != "not_found" || e["message"] != "Subscription not found." {
		t.Errorf("second unsubscribe = %v, want not_found", got)
	}
}

func TestEventsReachAllConnectionsInOrder(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	const conns, changes = 5, 20
	clients := make([]*wsClient, conns)
	for i := range clients {
		clients[i] = connect(t, s)
		mustSucceed(t, clients[i].result(map[string]any{"type": "subscribe_events", "event_type": "state_changed"}))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range changes {
			s.SetState("sensor.power_consumption", strings.Repeat("1", i+1), nil)
		}
	}()
	for _, c := range clients {
		for i := range changes {
			ev := c.read()
			ns := ev["event"].(map[string]any)["data"].(map[string]any)["new_state"].(map[string]any)
			if want := strings.Repeat("1", i+1); ns["state"] != want {
				t.Fatalf("event %d state = %v, want %s", i, ns["state"], want)
			}
		}
	}
	<-done
}

func waitConnections(t *testing.T, s *simhome.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Connections() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Connections() = %d, want %d", s.Connections(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDropConnections(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w1, w2 := connect(t, s), connect(t, s)
	mustSucceed(t, w1.result(map[string]any{"type": "subscribe_events"}))
	waitConnections(t, s, 2)
	s.DropConnections()
	for _, w := range []*wsClient{w1, w2} {
		if _, err := w.readFrame(); err == nil || websocket.CloseStatus(err) == websocket.StatusNormalClosure {
			t.Errorf("read after drop = %v, want an abrupt close", err)
		}
	}
	waitConnections(t, s, 0)
	if n := s.Subscriptions(); n != 0 {
		t.Errorf("Subscriptions() = %d after drop, want 0", n)
	}
	connect(t, s) // still listening
}

func TestStopRefusesThenRestartAccepts(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	url := s.WebSocketURL()
	s.Stop()
	if _, err := w.readFrame(); err == nil {
		t.Fatal("connection survived Stop")
	}
	if n := s.Connections(); n != 0 {
		t.Errorf("Connections() = %d after Stop, want 0", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, _, err := websocket.Dial(ctx, url, nil)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial after Stop = %v, want connection refused", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.WebSocketURL() != url {
		t.Errorf("URL changed across Restart: %s -> %s", url, s.WebSocketURL())
	}
	w = connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "get_states"}))
}

func TestCloseTwiceAndStartAfterClose(t *testing.T) {
	s := simhome.New(simhome.Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); !errors.Is(err, simhome.ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	s.Close()
	s.Close()
	if err := s.Restart(); !errors.Is(err, simhome.ErrClosed) {
		t.Errorf("Restart after Close = %v, want ErrClosed", err)
	}
}

func TestLatency(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	const d = 50 * time.Millisecond
	s.SetLatency(d)
	start := time.Now()
	w.command(map[string]any{"type": "ping"})
	if got := w.read(); got["type"] != "pong" {
		t.Fatalf("got %v, want pong", got)
	}
	if el := time.Since(start); el < d {
		t.Errorf("ping answered after %v, want at least %v", el, d)
	}
	start = time.Now()
	if code, _ := httpDo(t, s, "GET", "/", ""); code != 200 {
		t.Fatalf("GET /api/ = %d", code)
	}
	if el := time.Since(start); el < d {
		t.Errorf("REST answered after %v, want at least %v", el, d)
	}
}

func TestSlowClientIsCutOff(t *testing.T) {
	s := simhome.NewServer(t, simhome.Options{})
	w := connect(t, s)
	mustSucceed(t, w.result(map[string]any{"type": "subscribe_events", "event_type": "state_changed"}))
	updates := make([]simhome.StateUpdate, 5000)
	for i := range updates {
		updates[i] = simhome.StateUpdate{EntityID: "sensor.power_consumption", State: strings.Repeat("9", i%50+1) + "x"}
		if i%2 == 1 {
			updates[i].State = "0"
		}
	}
	s.FireStates(updates...)
	waitConnections(t, s, 0)
}
