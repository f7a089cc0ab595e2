package hass_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestEventsInOrder(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	waitConnected(t, c)
	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	other, err := c.Subscribe(testCtx(t), "some_other_event")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	waitFor(t, "two subscriptions on the server", func() bool { return srv.Subscriptions() == 2 })

	const n = 300
	for i := range n / 2 {
		srv.SetState("sensor.order", strconv.Itoa(i), map[string]any{"seq": i})
	}
	// The second half as one burst, which reaches the client as coalesced
	// frames (JSON arrays).
	var burst []simhome.StateUpdate
	for i := n / 2; i < n; i++ {
		burst = append(burst, simhome.StateUpdate{EntityID: "sensor.order", State: strconv.Itoa(i)})
	}
	srv.FireStates(burst...)
	for want := 0; want < n; {
		ev := nextEvent(t, sub)
		if ev.Missed {
			t.Fatalf("event %d marked Missed", want)
		}
		d := decodeStateChanged(t, ev)
		if d == nil || d.EntityID != "sensor.order" {
			continue
		}
		if d.NewState.State != strconv.Itoa(want) {
			t.Fatalf("event %d has state %q: out of order", want, d.NewState.State)
		}
		want++
	}
	select {
	case ev := <-other.Events():
		t.Errorf("subscription to some_other_event got %+v", ev)
	default:
	}
}

func TestSlowSubscriberDropsAndFlagsMissed(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	cfg := testConfig(t, srv)
	cfg.EventBuffer = 4
	c := startClient(t, cfg)
	waitConnected(t, c)
	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "subscription on the server", func() bool { return srv.Subscriptions() == 1 })

	for i := range 20 {
		srv.SetState("sensor.flood", strconv.Itoa(i), nil)
	}
	// Events and answers share the connection in order: once this answer
	// is back, all 20 events have been through the read loop.
	if _, err := c.GetStates(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := sub.Delivered(); n != 4 {
		t.Errorf("Delivered = %d with 4 events buffered and 16 dropped, want 4", n)
	}
	for i := range 4 {
		ev := nextEvent(t, sub)
		if d := decodeStateChanged(t, ev); ev.Missed || d == nil || d.NewState.State != strconv.Itoa(i) {
			t.Fatalf("buffered event %d = %+v, want state %d not Missed", i, ev, i)
		}
	}
	srv.SetState("sensor.flood", "final", nil)
	ev := nextEvent(t, sub)
	if d := decodeStateChanged(t, ev); !ev.Missed || d == nil || d.NewState.State != "final" {
		t.Fatalf("event after overflow = %+v, want state final marked Missed", ev)
	}
	srv.SetState("sensor.flood", "after", nil)
	if ev := nextEvent(t, sub); ev.Missed {
		t.Errorf("second event after overflow still Missed")
	}
}

func TestSubscriptionClose(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	waitConnected(t, c)
	sub, err := c.Subscribe(testCtx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "subscription on the server", func() bool { return srv.Subscriptions() == 1 })
	sub.Close()
	sub.Close() // idempotent
	waitFor(t, "unsubscribe_events to reach the server", func() bool { return srv.Subscriptions() == 0 })
	for range sub.Events() { // drains what was buffered, then ends
	}
	srv.DropConnections()
	waitFor(t, "reconnect", func() bool { return c.Status().Connected && srv.Connections() == 1 })
	if _, err := c.GetConfig(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Subscriptions(); n != 0 {
		t.Errorf("closed subscription re-subscribed: server has %d", n)
	}
}

func TestHeartbeatReplacesDeadConnection(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	cfg := testConfig(t, srv)
	cfg.PingInterval, cfg.PongTimeout = 50*time.Millisecond, 300*time.Millisecond
	c := startClient(t, cfg)
	waitConnected(t, c)
	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	srv.SetLatency(2 * time.Second) // pongs now come too late
	waitFor(t, "heartbeat failure", func() bool {
		st := c.Status()
		return !st.Connected && strings.Contains(st.LastError, "no pong")
	})
	srv.SetLatency(0)
	for {
		if ev := nextEvent(t, sub); ev.Missed {
			break
		}
	}
	expectStateEvent(t, srv, sub, "sensor.heartbeat_probe")
	if d, err := c.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping after recovery = %s, %v", d, err)
	}
}

// TestWaitSubscribed: subscriptions made before the connection are
// re-established on it one by one, each queuing its Missed event first;
// WaitSubscribed returns once all are, so a reader that loads states then
// has every Missed event before it.
func TestWaitSubscribed(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{Latency: 30 * time.Millisecond})
	srv.Stop()
	c := startClient(t, testConfig(t, srv))
	var subs []*hass.Subscription
	for _, et := range []string{"state_changed", "a", "b", "c"} {
		s, err := c.Subscribe(testCtx(t), et)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		subs = append(subs, s)
	}
	if err := srv.Restart(); err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	if err := c.WaitSubscribed(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Subscriptions(); n != len(subs) {
		t.Errorf("WaitSubscribed returned with %d of %d subscriptions confirmed", n, len(subs))
	}
	for _, s := range subs {
		select {
		case ev := <-s.Events():
			if !ev.Missed {
				t.Errorf("first event %+v, want Missed", ev)
			}
		default:
			t.Error("a subscription has no Missed event queued when WaitSubscribed returns")
		}
	}
}
