package hass_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func TestConfigValidate(t *testing.T) {
	good := hass.Config{RESTURL: "http://h:8123/api", WebSocketURL: "ws://h:8123/api/websocket", Token: "t"}
	tests := []struct {
		name    string
		mutate  func(*hass.Config)
		wantErr bool
	}{
		{"good", func(*hass.Config) {}, false},
		{"supervisor", func(c *hass.Config) {
			c.RESTURL, c.WebSocketURL = "http://supervisor/core/api", "ws://supervisor/core/websocket"
		}, false},
		{"no token", func(c *hass.Config) { c.Token = "" }, true},
		{"no rest url", func(c *hass.Config) { c.RESTURL = "" }, true},
		{"relative rest url", func(c *hass.Config) { c.RESTURL = "/api" }, true},
		{"ws scheme for rest", func(c *hass.Config) { c.RESTURL = "ws://h/api" }, true},
		{"ftp websocket", func(c *hass.Config) { c.WebSocketURL = "ftp://h/api/websocket" }, true},
		{"max below min", func(c *hass.Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, true},
		{"min above default max", func(c *hass.Config) { c.MinBackoff = time.Minute }, false},
		{"negative ping", func(c *hass.Config) { c.PingInterval = -1 }, true},
		{"negative buffer", func(c *hass.Config) { c.EventBuffer = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if _, nerr := hass.New(cfg); (nerr != nil) != tt.wantErr {
				t.Errorf("New() error = %v, want error %v", nerr, tt.wantErr)
			}
		})
	}
}

func TestAuthOK(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{Version: "2031.4.1"})
	logs := &syncBuffer{}
	cfg := testConfig(t, srv)
	cfg.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	c := startClient(t, cfg)
	waitConnected(t, c)

	st := c.Status()
	if st.HAVersion != "2031.4.1" || st.LastError != "" || st.Since.IsZero() {
		t.Errorf("Status() = %+v, want connected to 2031.4.1 without error", st)
	}
	conf, err := c.GetConfig(testCtx(t))
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if got := conf["version"]; got != "2031.4.1" {
		t.Errorf("GetConfig version = %v, want 2031.4.1", got)
	}
	if d, err := c.Ping(testCtx(t)); err != nil || d <= 0 {
		t.Errorf("Ping() = %v, %v, want a positive round trip", d, err)
	}
	if strings.Contains(logs.String(), srv.Token()) {
		t.Errorf("token appears in the log:\n%s", logs)
	}
}

func TestAuthInvalid(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	const token = "wrong-token-5ecr3t"
	logs := &syncBuffer{}
	cfg := testConfig(t, srv)
	cfg.Token = token
	cfg.Logger = zerolog.New(logs)
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 100*time.Millisecond
	start := time.Now()
	c := startClient(t, cfg)

	waitFor(t, "auth error in Status", func() bool {
		return strings.Contains(c.Status().LastError, hass.ErrAuthInvalid.Error())
	})
	waitFor(t, "three failed attempts", func() bool {
		return strings.Count(logs.String(), hass.ErrAuthInvalid.Error()) >= 3
	})
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	err := c.Command(ctx, map[string]any{"type": "get_config"}, nil)
	if !errors.Is(err, hass.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Command while unauthenticated = %v, want ErrUnavailable and DeadlineExceeded", err)
	}

	// Attempts are at least MinBackoff apart, so a hot loop would show as
	// far more failures than the elapsed time allows.
	attempts := strings.Count(logs.String(), hass.ErrAuthInvalid.Error())
	if max := int(time.Since(start)/cfg.MinBackoff) + 1; attempts > max {
		t.Errorf("%d auth attempts in %s, want at most %d", attempts, time.Since(start), max)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) {
		t.Errorf("auth failure not logged at error level:\n%s", logs)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token appears in the log:\n%s", logs)
	}
	if c.Status().Connected || srv.Connections() != 0 {
		t.Errorf("connected with a wrong token")
	}
}

func TestAbsentAtStart(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	srv.Stop()
	c := startClient(t, testConfig(t, srv))
	waitFor(t, "a failed attempt", func() bool { return c.Status().LastError != "not connected yet" })

	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	if err := c.Command(ctx, map[string]any{"type": "get_config"}, nil); !errors.Is(err, hass.ErrUnavailable) {
		t.Errorf("Command while down = %v, want ErrUnavailable", err)
	}
	if _, err := c.Ping(testCtx(t)); !errors.Is(err, hass.ErrUnavailable) {
		t.Errorf("Ping while down = %v, want ErrUnavailable", err)
	}
	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatalf("Subscribe while down: %v", err)
	}
	defer sub.Close()

	// A command issued while down waits for the connection.
	got := make(chan error, 1)
	go func() { _, err := c.GetConfig(testCtx(t)); got <- err }()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("GetConfig issued while down: %v", err)
	}
	if ev := nextEvent(t, sub); !ev.Missed {
		t.Errorf("first event after connecting = %+v, want Missed", ev)
	}
	expectStateEvent(t, srv, sub, "sensor.absent_probe")
}

func TestServerAppearsLater(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cfg := hass.Config{
		RESTURL:      "http://" + addr + "/api",
		WebSocketURL: "ws://" + addr + "/api/websocket",
		Token:        simhome.DefaultToken,
		Logger:       zerolog.New(zerolog.NewTestWriter(t)),
		MinBackoff:   20 * time.Millisecond,
		MaxBackoff:   100 * time.Millisecond,
	}
	c := startClient(t, cfg)
	waitFor(t, "a refused attempt", func() bool { return c.Status().LastError != "not connected yet" })

	srv := simhome.New(simhome.Options{})
	if err := srv.Start(addr); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	t.Cleanup(srv.Close)
	waitConnected(t, c)
	if _, err := c.GetStates(testCtx(t)); err != nil {
		t.Errorf("GetStates: %v", err)
	}
}

func TestReconnect(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	waitConnected(t, c)
	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	expectStateEvent(t, srv, sub, "sensor.reconnect_probe")

	t.Run("drop", func(t *testing.T) {
		srv.DropConnections()
		if ev := nextEvent(t, sub); !ev.Missed {
			t.Fatalf("first event after a drop = %+v, want Missed", ev)
		}
		expectStateEvent(t, srv, sub, "sensor.reconnect_probe")
		if _, err := c.GetStates(testCtx(t)); err != nil {
			t.Errorf("GetStates after reconnect: %v", err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		srv.Stop()
		srv.DropConnections()
		waitFor(t, "disconnected", func() bool { return !c.Status().Connected })
		// A Home Assistant restart refuses connections for seconds: 5 s
		// of refusals run many backoff rounds (MaxBackoff is 200 ms here).
		refusedUntil := time.Now().Add(5 * time.Second)
		for time.Now().Before(refusedUntil) {
			if st := c.Status(); st.Connected || st.LastError == "" {
				t.Fatalf("Status while refused = %+v, want disconnected with an error", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, sub); !ev.Missed {
			t.Fatalf("first event after restart = %+v, want Missed", ev)
		}
		expectStateEvent(t, srv, sub, "sensor.reconnect_probe")
		if _, err := c.GetConfig(testCtx(t)); err != nil {
			t.Errorf("GetConfig after restart: %v", err)
		}
		waitFor(t, "one subscription on the server", func() bool { return srv.Subscriptions() == 1 })
	})
}

// expectStateEvent sets entityID to fresh values until sub delivers a
// state_changed event for it, proving the subscription is live. It retries
// because a re-subscription may still be on its way to the server.
func expectStateEvent(t *testing.T, srv *simhome.Server, sub *hass.Subscription, entityID string) {
	t.Helper()
	for attempt := 0; attempt < 40; attempt++ {
		want := "v" + time.Now().Format("150405.000000000")
		srv.SetState(entityID, want, nil)
		timeout := time.After(500 * time.Millisecond)
		for {
			select {
			case ev := <-sub.Events():
				if st := decodeStateChanged(t, ev); st != nil && st.EntityID == entityID && st.NewState.State == want {
					return
				}
				continue
			case <-timeout:
			}
			break
		}
	}
	t.Fatalf("no state_changed event for %s", entityID)
}

// decodeStateChanged returns the data of a state_changed event, or nil.
func decodeStateChanged(t *testing.T, ev hass.Event) *hass.StateChangedData {
	t.Helper()
	if ev.EventType != "state_changed" || len(ev.Data) == 0 {
		return nil
	}
	var d hass.StateChangedData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("decoding state_changed %s: %v", ev.Data, err)
	}
	if d.NewState == nil {
		return nil
	}
	return &d
}

func TestCommandContextCancel(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c := startClient(t, testConfig(t, srv))
	waitConnected(t, c)

	srv.SetLatency(time.Second)
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	err := c.Command(ctx, map[string]any{"type": "get_config"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Command with a short deadline = %v, want DeadlineExceeded", err)
	}
	srv.SetLatency(0)
	var states []hass.State
	if err := c.Command(testCtx(t), map[string]any{"type": "get_states"}, &states); err != nil || len(states) == 0 {
		t.Errorf("Command after a cancelled one = %d states, %v; want states", len(states), err)
	}
	if !c.Status().Connected {
		t.Error("cancelling a command dropped the connection")
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	c, err := hass.New(testConfig(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitConnected(t, c)

	sub, err := c.Subscribe(testCtx(t), "state_changed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RenderTemplate(testCtx(t), "{{ 1 + 1 }}", nil); err != nil {
		t.Errorf("RenderTemplate: %v", err)
	}
	srv.SetLatency(500 * time.Millisecond)
	short, stop := context.WithTimeout(testCtx(t), 20*time.Millisecond)
	_ = c.Command(short, map[string]any{"type": "get_states"}, nil)
	stop()
	srv.SetLatency(0)
	srv.DropConnections()
	if ev := nextEvent(t, sub); !ev.Missed {
		t.Errorf("first event after drop = %+v, want Missed", ev)
	}
	waitConnected(t, c)

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	sub.Close()
	if leaked := waitNoClientGoroutines(10 * time.Second); leaked != "" {
		t.Fatalf("goroutines left after Run returned:\n%s", leaked)
	}
	if st := c.Status(); st.Connected {
		t.Errorf("Status after Run = %+v, want disconnected", st)
	}
}

// TestWaitConnected checks that WaitConnected gives up with ErrUnavailable
// while Home Assistant is down and returns once the client has connected.
func TestWaitConnected(t *testing.T) {
	srv := simhome.NewServer(t, simhome.Options{})
	srv.Stop()
	c := startClient(t, testConfig(t, srv))
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitConnected(ctx); !errors.Is(err, hass.ErrUnavailable) {
		t.Errorf("WaitConnected while down = %v, want ErrUnavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(testCtx(t)); err != nil {
		t.Fatalf("WaitConnected after restart: %v", err)
	}
	if !c.Status().Connected {
		t.Error("Status().Connected = false after WaitConnected returned")
	}
}
