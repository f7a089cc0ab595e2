package hass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
)

// conn is one authenticated WebSocket connection. Its goroutines (reader,
// writer, heartbeat) are started and waited for by Client.serve.
type conn struct {
	ws        *websocket.Conn
	log       zerolog.Logger
	haVersion string
	writeq    chan outgoing
	done      chan struct{} // closed by fail
	onDead    func()        // called once, before done is closed
	// subscribed is closed once the client's subscriptions have been
	// re-established on this connection (or tried: see resubscribe).
	subscribed chan struct{}

	failOnce sync.Once
	err      error // why the connection ended; written before done is closed

	mu      sync.Mutex // guards nextID, pending
	nextID  int64
	pending map[int64]*call
}

// outgoing is a command waiting for the writer.
type outgoing struct {
	cmd  []byte // JSON object without "id", from encodeCommand
	call *call
}

// call is one command in flight. The writer assigns its id; the reader
// delivers its answer and, for subscriptions, its events.
type call struct {
	reply   chan message          // buffered 1; nil for fire-and-forget commands
	onEvent func(json.RawMessage) // non-nil for commands that open a subscription

	// Guarded by conn.mu.
	id        int64 // 0 until written
	cancelled bool  // the caller is gone; drop the answer
}

func newCall(onEvent func(json.RawMessage)) *call {
	return &call{reply: make(chan message, 1), onEvent: onEvent}
}

// dial opens a WebSocket to Home Assistant and authenticates. ctx bounds only
// the handshake.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, c.cfg.WebSocketURL, &websocket.DialOptions{
		HTTPClient: c.cfg.HTTPClient,
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("%w: handshake answered %s", ErrAuthInvalid, resp.Status)
		}
		return nil, fmt.Errorf("hass: dialing %s: %w", c.cfg.WebSocketURL, err)
	}
	ws.SetReadLimit(readLimit)
	version, err := authenticate(ctx, ws, c.cfg.Token)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	return &conn{
		ws:         ws,
		log:        c.log.With().Str("ha_version", version).Logger(),
		haVersion:  version,
		writeq:     make(chan outgoing, 64),
		done:       make(chan struct{}),
		subscribed: make(chan struct{}),
		pending:    make(map[int64]*call),
	}, nil
}

// authenticate runs the auth phase: auth_required, auth, then auth_ok or
// auth_invalid. It returns Home Assistant's version.
func authenticate(ctx context.Context, ws *websocket.Conn, token string) (string, error) {
	first, err := readAuthMessage(ctx, ws)
	if err != nil {
		return "", err
	}
	if first.Type != "auth_required" {
		return "", fmt.Errorf("hass: expected auth_required, got %q", first.Type)
	}
	auth, err := json.Marshal(struct {
		Type        string `json:"type"`
		AccessToken string `json:"access_token"`
	}{"auth", token})
	if err != nil {
		return "", fmt.Errorf("hass: encoding auth: %w", err)
	}
	if err := ws.Write(ctx, websocket.MessageText, auth); err != nil {
		return "", fmt.Errorf("hass: sending auth: %w", err)
	}
	answer, err := readAuthMessage(ctx, ws)
	if err != nil {
		return "", err
	}
	switch answer.Type {
	case "auth_ok":
		return answer.HAVersion, nil
	case "auth_invalid":
		return "", fmt.Errorf("%w: %s", ErrAuthInvalid, answer.Message)
	default:
		return "", fmt.Errorf("hass: expected auth_ok or auth_invalid, got %q", answer.Type)
	}
}

func readAuthMessage(ctx context.Context, ws *websocket.Conn) (message, error) {
	_, data, err := ws.Read(ctx)
	if err != nil {
		return message{}, fmt.Errorf("hass: reading auth phase: %w", err)
	}
	ms, err := parseFrame(data)
	if err != nil || len(ms) != 1 {
		return message{}, fmt.Errorf("hass: auth phase: %w", errors.Join(errFrame, err))
	}
	return ms[0], nil
}

// fail ends the connection with err (the first call wins) and wakes every
// waiter.
func (cn *conn) fail(err error) {
	cn.failOnce.Do(func() {
		cn.err = err
		if cn.onDead != nil {
			cn.onDead()
		}
		close(cn.done)
		cn.ws.CloseNow()
	})
}

// dead reports whether the connection has ended.
func (cn *conn) dead() bool {
	select {
	case <-cn.done:
		return true
	default:
		return false
	}
}

// readLoop reads frames until the connection fails and hands each message to
// dispatch. It never blocks on a consumer.
func (cn *conn) readLoop() {
	for {
		_, data, err := cn.ws.Read(context.Background())
		if err != nil {
			cn.fail(fmt.Errorf("%w: reading: %w", ErrConnectionLost, err))
			return
		}
		msgs, err := parseFrame(data)
		if err != nil {
			cn.log.Warn().Err(err).Int("bytes", len(data)).Msg("ignoring malformed message from home assistant")
		}
		for i := range msgs {
			cn.dispatch(&msgs[i])
		}
	}
}

// writeLoop writes queued commands in order, assigning increasing ids as it
// goes: Home Assistant rejects an id that is not above the previous one.
func (cn *conn) writeLoop() {
	for {
		select {
		case <-cn.done:
			return
		case out := <-cn.writeq:
			id, ok := cn.register(out.call)
			if !ok {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			err := cn.ws.Write(ctx, websocket.MessageText, withID(out.cmd, id))
			cancel()
			if err != nil {
				cn.fail(fmt.Errorf("%w: writing: %w", ErrConnectionLost, err))
				return
			}
		}
	}
}

// register assigns the next id to cl and records it as pending. It returns
// false if the caller has already given up.
func (cn *conn) register(cl *call) (int64, bool) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cl.cancelled {
		return 0, false
	}
	cn.nextID++
	cl.id = cn.nextID
	cn.pending[cl.id] = cl
	return cl.id, true
}

// heartbeat pings Home Assistant every interval and fails the connection
// when a pong does not come back within timeout.
func (cn *conn) heartbeat(interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := cn.ping(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			cn.fail(fmt.Errorf("%w: no pong within %s", ErrConnectionLost, timeout))
			return
		}
	}
}

// ping sends Home Assistant's ping command and returns the round trip time.
func (cn *conn) ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if _, err := cn.roundTrip(ctx, []byte(`{"type":"ping"}`), newCall(nil)); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// announceFeatures enables coalesce_messages: Home Assistant may then pack
// several messages into one frame as a JSON array. An older Home Assistant
// that does not know the command is not an error.
func (cn *conn) announceFeatures(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	cmd := []byte(`{"type":"supported_features","features":{"coalesce_messages":1}}`)
	_, err := cn.roundTrip(ctx, cmd, newCall(nil))
	var haErr *Error
	if errors.As(err, &haErr) {
		cn.log.Debug().Err(err).Msg("home assistant does not take supported_features")
		return nil
	}
	return err
}
