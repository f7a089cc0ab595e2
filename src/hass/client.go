package hass

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrUnavailable means no connection to Home Assistant was up before the
	// caller's context ended (or, for Ping, at the moment of the call).
	ErrUnavailable = errors.New("hass: home assistant unavailable")
	// ErrConnectionLost means the connection dropped after a command was sent
	// and before its answer arrived: the command may or may not have run.
	ErrConnectionLost = errors.New("hass: connection lost")
	// ErrAuthInvalid means Home Assistant rejected the access token.
	ErrAuthInvalid = errors.New("hass: authentication invalid")
)

// Defaults for the zero fields of Config.
const (
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultPingInterval = 30 * time.Second
	DefaultPongTimeout  = 10 * time.Second
	DefaultEventBuffer  = 1024
	// readLimit bounds one incoming frame: get_states on a large house is
	// several megabytes, far above coder/websocket's 32 KiB default.
	readLimit = 64 << 20
	// handshakeTimeout bounds dialing plus the auth exchange.
	handshakeTimeout = 10 * time.Second
	// writeTimeout bounds writing one frame; a peer that does not take a
	// frame for that long is dead.
	writeTimeout = 10 * time.Second
)

// Config configures a Client. The zero value is not valid: RESTURL,
// WebSocketURL and Token are required.
type Config struct {
	// RESTURL is the base of the REST API, ending in /api:
	// "http://host:8123/api" or, behind the Supervisor, "http://supervisor/core/api".
	RESTURL string
	// WebSocketURL is "ws://host:8123/api/websocket" or, behind the
	// Supervisor, "ws://supervisor/core/websocket".
	WebSocketURL string
	// Token is a long-lived access token or SUPERVISOR_TOKEN. Never logged.
	Token string
	// Logger receives connection events. The zero value logs nothing.
	Logger zerolog.Logger
	// HTTPClient is used for REST calls and the WebSocket handshake. If nil,
	// a client with a 60 s overall timeout is used.
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the wait between reconnect attempts,
	// which doubles per failure with jitter and resets after a successful
	// authentication. If zero, they default to 500 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is the heartbeat period. If zero, defaults to 30 s.
	PingInterval time.Duration
	// PongTimeout is how long a heartbeat waits for its pong before the
	// connection is declared dead and replaced. If zero, defaults to 10 s.
	PongTimeout time.Duration
	// EventBuffer is each subscription's buffer; when a subscriber falls
	// that far behind, events are dropped and the next one delivered is
	// marked Missed. If zero, defaults to 1024.
	EventBuffer int
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongTimeout == 0 {
		c.PongTimeout = DefaultPongTimeout
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	return c
}

// Validate reports the first problem with c, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := checkURL("RESTURL", c.RESTURL, "http", "https"); err != nil {
		return err
	}
	if err := checkURL("WebSocketURL", c.WebSocketURL, "ws", "wss", "http", "https"); err != nil {
		return err
	}
	switch {
	case c.Token == "":
		return errors.New("hass: Token is required")
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("hass: need 0 < MinBackoff <= MaxBackoff, got %s and %s", c.MinBackoff, c.MaxBackoff)
	case c.PingInterval < 0 || c.PongTimeout < 0:
		return errors.New("hass: PingInterval and PongTimeout must not be negative")
	case c.EventBuffer < 0:
		return errors.New("hass: EventBuffer must not be negative")
	}
	return nil
}

func checkURL(field, raw string, schemes ...string) error {
	if raw == "" {
		return fmt.Errorf("hass: %s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("hass: %s: %w", field, err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("hass: %s %q: want an absolute %v URL", field, raw, schemes)
}

// Status is the connection state reported by Client.Status, for health checks.
type Status struct {
	Connected bool
	HAVersion string // of the current or last connection
	LastError string // why the last connection attempt or connection failed
	Since     time.Time
}

// Client talks to one Home Assistant. It is safe for concurrent use. Nothing
// is sent until Run is called; commands issued before then wait for the
// connection that Run establishes.
type Client struct {
	cfg     Config
	log     zerolog.Logger
	running atomic.Bool

	mu     sync.Mutex // guards cur, ready, status, subs
	cur    *conn
	ready  chan struct{} // closed once cur is set; replaced when cur is cleared
	status Status
	subs   map[*Subscription]struct{}
}

// New returns a Client for cfg. It does not connect: call Run.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{
		cfg:    cfg,
		log:    cfg.Logger.With().Str("component", "hass").Logger(),
		ready:  make(chan struct{}),
		status: Status{LastError: "not connected yet", Since: time.Now()},
		subs:   make(map[*Subscription]struct{}),
	}, nil
}

// Status returns the current connection state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Run connects to Home Assistant and keeps reconnecting, with exponential
// backoff and jitter, until ctx is done; then it closes the connection,
// waits for every goroutine it started and returns nil. Home Assistant being
// down, refusing connections or rejecting the token is never fatal: the
// reason shows in Status and the log. Run may be called only once at a time.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("hass: Run is already running")
	}
	defer c.running.Store(false)
	for attempt := 0; ; attempt++ {
		cn, err := c.dial(ctx)
		if err == nil {
			attempt = 0
			err = c.serve(ctx, cn)
		}
		if ctx.Err() != nil {
			c.setDisconnected(errors.New("client stopped"))
			return nil
		}
		c.setDisconnected(err)
		wait := backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff, jitter)
		c.logFailure(err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// logFailure logs why the connection failed, loudly for a rejected token
// (an operator must fix it) and quietly for a Home Assistant restart.
func (c *Client) logFailure(err error, wait time.Duration) {
	ev := c.log.Warn()
	var netErr net.Error
	switch {
	case errors.Is(err, ErrAuthInvalid):
		ev = c.log.Error()
	case errors.As(err, &netErr), errors.Is(err, ErrConnectionLost):
		ev = c.log.Info()
	}
	ev.Err(err).Dur("retry_in", wait).Msg("home assistant connection failed")
}

// setConnected publishes cn as the current connection and returns the
// subscriptions it must (re)establish.
func (c *Client) setConnected(cn *conn) []*Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = cn
	close(c.ready)
	c.status = Status{Connected: true, HAVersion: cn.haVersion, Since: time.Now()}
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	return subs
}

// setDisconnected records err as the reason the client is not connected.
func (c *Client) setDisconnected(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		c.cur = nil
		c.ready = make(chan struct{})
	}
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	if c.status.Connected || c.status.LastError != msg {
		c.status.Since = time.Now()
	}
	c.status.Connected = false
	c.status.LastError = msg
}

// current returns the connection, or nil while disconnected.
func (c *Client) current() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// WaitSubscribed waits, until ctx ends, for a connection that has
// re-established the subscriptions made before it came up: each has then
// queued its Missed event, and Home Assistant sends it every event from
// then on (a subscription Home Assistant refused is logged and retried on
// the next connection). A reader that loads states after it returns, and
// has taken the Missed events queued so far, has missed nothing. A
// connection lost meanwhile is waited past, for the next one. When ctx
// ends first, the error wraps ErrUnavailable.
func (c *Client) WaitSubscribed(ctx context.Context) error {
	for {
		cn, err := c.waitConn(ctx)
		if err != nil {
			return err
		}
		select {
		case <-cn.subscribed:
			if !cn.dead() {
				return nil
			}
		case <-cn.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		// cn died; dropConn unpublished it before done closed, so
		// waitConn waits for the next connection.
	}
}

// WaitConnected waits until the client holds an authenticated connection,
// or ctx ends (then the error wraps ErrUnavailable with the last failure).
// Unlike Command, Ping does not wait: a health check that wants to tell
// "connecting" from "down" waits here first, within its own deadline.

func (c *Client) WaitConnected(ctx context.Context) error {
	_, err := c.waitConn(ctx)
	return err
}

// waitConn returns the current connection, waiting for one until ctx ends.
func (c *Client) waitConn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, ready, last := c.cur, c.ready, c.status.LastError
		c.mu.Unlock()
		if cn != nil {
			return cn, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%s): %w", ErrUnavailable, last, ctx.Err())
		}
	}
}

// serve runs the connection cn until it fails or ctx ends, and returns why it
// ended once every goroutine on it has returned.
func (c *Client) serve(ctx context.Context, cn *conn) error {
	cn.onDead = func() { c.dropConn(cn) }
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(cn.readLoop)
	wg.Go(cn.writeLoop)
	if err := cn.announceFeatures(ctx); err != nil {
		cn.fail(err)
		return err
	}
	subs := c.setConnected(cn)
	cn.log.Info().Msg("connected to home assistant")
	wg.Go(func() { cn.heartbeat(c.cfg.PingInterval, c.cfg.PongTimeout) })
	wg.Go(func() {
		defer close(cn.subscribed)
		c.resubscribe(cn, subs)
	})
	select {
	case <-ctx.Done():
		cn.ws.Close(websocket.StatusNormalClosure, "")
		cn.fail(errors.New("hass: client stopped"))
	case <-cn.done:
	}
	return cn.err
}

// dropConn unpublishes cn when it dies, before its waiters wake up, so that
// they do not pick it again. The status says why at once: a client seen
// disconnected always has its reason (cn.err is set before onDead runs).
func (c *Client) dropConn(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == cn {
		c.cur = nil
		c.ready = make(chan struct{})
		c.status.Connected = false
		c.status.Since = time.Now()
		c.status.LastError = "hass: connection lost"
		if cn.err != nil {
			c.status.LastError = cn.err.Error()
		}
	}
}
