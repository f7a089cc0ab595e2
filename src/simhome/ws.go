package simhome

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Limits copied from websocket_api.const and aiohttp.
const (
	maxPendingMessages = 4096             // MAX_PENDING_MSG: the client is cut off past it
	maxMessageSize     = 4 << 20          // aiohttp's default max_msg_size
	authTimeout        = 10 * time.Second // "Did not receive auth message within 10 seconds"
	flushTimeout       = 10 * time.Second // last messages before a close
)

// conn is one WebSocket connection. The handler goroutine reads and
// dispatches; a writer goroutine, owned by the handler, sends the queue in
// order.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	ctx    context.Context // cancelled to drop the connection
	cancel context.CancelFunc

	mu       sync.Mutex // guards queue, finished
	queue    [][]byte
	finished bool
	wake     chan struct{}

	hung  sync.WaitGroup // calls held by HangService (hang.go)
	ended chan struct{}  // closed when the reader returns: hung calls give up

	coalesce atomic.Bool // set by supported_features
	authed   bool        // guarded by Server.mu
	lastID   int64       // reader goroutine only
}

// subscription is an event subscription, or a render_template one when
// tmpl is set.
type subscription struct {
	c         *conn
	id        int64
	eventType string // "*" for every event
	tmpl      *templateSub
}

func (sub *subscription) wants(eventType string) bool {
	if sub.tmpl != nil {
		return false
	}
	if sub.eventType == "*" {
		// MATCH_ALL listeners do not receive state_reported.
		return eventType != "state_reported"
	}
	return sub.eventType == eventType
}

// enqueue appends messages to the outbound queue as one unit. A client
// that lets more than maxPendingMessages pile up is disconnected, as Home
// Assistant does.
func (c *conn) enqueue(msgs ...[]byte) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, msgs...)
	over := len(c.queue) > maxPendingMessages
	c.mu.Unlock()
	if over {
		c.cancel()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take returns the pending messages and whether the connection finished.
func (c *conn) take() ([][]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q, c.finished
}

// finish stops accepting messages; the writer sends what is queued, then
// returns.
func (c *conn) finish() {
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// drop closes the connection abruptly, without a close frame.
func (c *conn) drop() {
	c.cancel()
	_ = c.ws.CloseNow()
}

// writer sends queued messages; after supported_features asked for it,
// several ready messages go out as one JSON array, like
// WebSocketHandler._writer.
func (c *conn) writer(done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return
		}
		msgs, finished := c.take()
		if err := c.write(msgs); err != nil {
			c.cancel()
			return
		}
		if finished {
			return
		}
	}
}

func (c *conn) write(msgs [][]byte) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > 1 && c.coalesce.Load() {
		frame := append([]byte{'['}, bytes.Join(msgs, []byte{','})...)
		return c.ws.Write(c.ctx, websocket.MessageText, append(frame, ']'))
	}
	for _, m := range msgs {
		if err := c.ws.Write(c.ctx, websocket.MessageText, m); err != nil {
			return err
		}
	}
	return nil
}

// serveWebSocket handles /api/websocket.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept already answered the HTTP request
	}
	ws.SetReadLimit(maxMessageSize)
	ctx, cancel := context.WithCancel(r.Context())
	c := &conn{s: s, ws: ws, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), ended: make(chan struct{})}
	s.mu.Lock()
	s.w.conns[c] = struct{}{}
	s.mu.Unlock()

	done := make(chan struct{})
	go c.writer(done)
	graceful := c.run()
	close(c.ended)
	c.hung.Wait()

	s.mu.Lock()
	s.unsubscribeAllLocked(c)
	delete(s.w.conns, c)
	s.mu.Unlock()
	c.finish()
	c.waitWriter(done)
	if graceful && ctx.Err() == nil {
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
	cancel()
	_ = ws.CloseNow()
}

// waitWriter waits for the writer to flush the queue; a peer that stopped
// reading gets flushTimeout before the connection is cut.
func (c *conn) waitWriter(done <-chan struct{}) {
	t := time.NewTimer(flushTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.cancel()
		<-done
	}
}

// run performs the auth phase then the command phase. It reports whether
// the connection should be closed with a close frame (Home Assistant's
// normal way out) rather than dropped.
func (c *conn) run() bool {
	c.enqueue(mustJSON(map[string]any{"type": "auth_required", "ha_version": c.s.version}))
	if !c.authenticate() {
		return true
	}
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return false
		}
		if typ != websocket.MessageText {
			return true // "Received non-Text message."
		}
		msg, err := decodeJSON(data)
		if err != nil {
			return true // "Received invalid JSON."
		}
		if c.s.wait(c.ctx) != nil {
			return false
		}
		if list, ok := msg.([]any); ok {
			for _, m := range list {
				c.handle(m)
			}
			continue
		}
		c.handle(msg)
	}
}

// authenticate runs the auth phase (AuthPhase.async_handle).
func (c *conn) authenticate() bool {
	rctx, cancel := context.WithTimeout(c.ctx, authTimeout)
	typ, data, err := c.ws.Read(rctx)
	cancel()
	if err != nil || typ != websocket.MessageText {
		return false
	}
	msg, err := decodeJSON(data)
	if err != nil {
		return false
	}
	if c.s.wait(c.ctx) != nil {
		return false
	}
	token, problem := checkAuthMessage(msg)
	if problem != "" {
		c.enqueue(authInvalid("Auth message incorrectly formatted: " + problem))
		return false
	}
	if token != c.s.token {
		c.enqueue(authInvalid("Invalid access token or password"))
		return false
	}
	c.s.mu.Lock()
	c.authed = true
	c.s.mu.Unlock()
	c.enqueue(mustJSON(map[string]any{"type": "auth_ok", "ha_version": c.s.version}))
	return true
}

// checkAuthMessage validates AUTH_MESSAGE_SCHEMA and returns the token, or
// voluptuous' humanized complaint.
func checkAuthMessage(msg any) (token, problem string) {
	m, ok := msg.(map[string]any)
	if !ok {
		return "", "expected a dictionary. Got " + pyReprOf(msg)
	}
	var errs []string
	for k, v := range m {
		switch k {
		case "type":
			if v != "auth" {
				errs = append(errs, "not a valid value for dictionary value @ data['type']. Got "+pyReprOf(v))
			}
		case "access_token", "api_password":
			s, ok := v.(string)
			if !ok {
				errs = append(errs, "expected str for dictionary value @ data['"+k+"']. Got "+pyReprOf(v))
			} else if k == "access_token" {
				token = s
			}
		default:
			errs = append(errs, "extra keys not allowed @ data['"+k+"']. Got "+pyReprOf(v))
		}
	}
	if _, ok := m["type"]; !ok {
		errs = append(errs, "required key not provided @ data['type']. Got None")
	}
	if _, ok := m["access_token"]; ok {
		if _, ok := m["api_password"]; ok {
			errs = append(errs, "two or more values in the same group of exclusion 'auth' @ data[<auth>]. Got None")
		}
	}
	return token, joinSorted(errs)
}

func authInvalid(message string) []byte {
	return mustJSON(map[string]any{"type": "auth_invalid", "message": message})
}

// mustJSON encodes values built by the fake itself, which always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(errors.New("simhome: encoding an internal message: " + err.Error()))
	}
	return b
}
