package hass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// errNotSent means the connection died before a command was written, so it
// is safe to send it again on the next connection.
var errNotSent = errors.New("hass: connection closed before sending")

// Command sends cmd over the WebSocket and waits for its answer. cmd must
// marshal to a JSON object with a "type" (a map or a struct) and no "id":
// the client assigns ids. If result is non-nil, the answer's "result" is
// decoded into it.
//
// Command waits for a connection until ctx ends (then the error wraps
// ErrUnavailable). A failure answered by Home Assistant is an *Error. If the
// connection drops after the command was sent, the error wraps
// ErrConnectionLost: the command may or may not have run. If ctx ends first,
// the answer is dropped when it comes and ctx's error is returned, wrapped.
func (c *Client) Command(ctx context.Context, cmd any, result any) error {
	raw, err := c.command(ctx, cmd, nil)
	if err != nil {
		return err
	}
	if result == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("hass: decoding result: %w", err)
	}
	return nil
}

// command sends cmd and returns the connection it went out on, its id and
// its raw result. onEvent, if non-nil, receives the events Home Assistant
// sends under the command's id (a subscription) until it is unsubscribed.
func (c *Client) command(ctx context.Context, cmd any, onEvent func(json.RawMessage)) (json.RawMessage, error) {
	_, _, raw, err := c.subscribeCommand(ctx, cmd, onEvent)
	return raw, err
}

// subscribeCommand is command that also returns the connection and id the
// command ran with, for subscriptions that must later be cancelled.
func (c *Client) subscribeCommand(ctx context.Context, cmd any, onEvent func(json.RawMessage)) (*conn, int64, json.RawMessage, error) {
	body, err := encodeCommand(cmd)
	if err != nil {
		return nil, 0, nil, err
	}
	for {
		cn, err := c.waitConn(ctx)
		if err != nil {
			return nil, 0, nil, err
		}
		cl := newCall(onEvent)
		raw, err := cn.roundTrip(ctx, body, cl)
		if errors.Is(err, errNotSent) {
			continue // it never left: send it on the next connection
		}
		return cn, cl.id, raw, err
	}
}

// roundTrip queues cmd on cn and waits for its answer.
func (cn *conn) roundTrip(ctx context.Context, cmd []byte, cl *call) (json.RawMessage, error) {
	select {
	case cn.writeq <- outgoing{cmd: cmd, call: cl}:
	case <-cn.done:
		return nil, errNotSent
	case <-ctx.Done():
		return nil, fmt.Errorf("hass: sending command: %w", ctx.Err())
	}
	select {
	case m := <-cl.reply:
		return answer(&m)
	case <-ctx.Done():
		cn.abandon(cl)
		return nil, fmt.Errorf("hass: waiting for answer: %w", ctx.Err())
	case <-cn.done:
		select {
		case m := <-cl.reply:
			return answer(&m)
		default:
		}
		if !cn.abandon(cl) {
			return nil, errNotSent
		}
		return nil, fmt.Errorf("%w: %w", ErrConnectionLost, cn.err)
	}
}

func answer(m *message) (json.RawMessage, error) {
	if !m.succeeded() {
		return nil, m.err()
	}
	return m.Result, nil
}

// abandon records that cl's caller has stopped waiting, so the writer skips
// it and the reader drops its answer. A subscription stays routed until its
// answer arrives, so that a late success can be unsubscribed. abandon
// reports whether cl had been written.
func (cn *conn) abandon(cl *call) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cl.cancelled = true
	if cl.id != 0 && cl.onEvent == nil {
		delete(cn.pending, cl.id)
	}
	return cl.id != 0
}

// dispatch routes one message from Home Assistant to its waiter. It runs on
// the read loop and never blocks.
func (cn *conn) dispatch(m *message) {
	switch m.Type {
	case "result", "pong":
		cn.dispatchResult(m)
	case "event":
		cn.mu.Lock()
		cl := cn.pending[m.ID]
		live := cl != nil && cl.onEvent != nil && !cl.cancelled
		cn.mu.Unlock()
		if !live {
			cn.log.Debug().Int64("id", m.ID).Msg("dropping event for unknown subscription")
			return
		}
		cl.onEvent(m.Event)
	default:
		cn.log.Debug().Str("type", m.Type).Int64("id", m.ID).Msg("ignoring unexpected message")
	}
}

func (cn *conn) dispatchResult(m *message) {
	cn.mu.Lock()
	cl := cn.pending[m.ID]
	if cl == nil {
		cn.mu.Unlock()
		cn.log.Debug().Int64("id", m.ID).Msg("dropping answer nobody waits for")
		return
	}
	keep := cl.onEvent != nil && m.succeeded() && !cl.cancelled
	if !keep {
		delete(cn.pending, m.ID)
	}
	cancelled := cl.cancelled
	cn.mu.Unlock()
	switch {
	case cancelled && cl.onEvent != nil && m.succeeded():
		cn.unsubscribe(m.ID) // the subscriber left before it was confirmed
	case cancelled:
	case cl.reply == nil:
		if !m.succeeded() {
			cn.log.Debug().Err(m.err()).Int64("id", m.ID).Msg("background command failed")
		}
	default:
		cl.reply <- *m
	}
}

// forget stops routing events for subscription id without telling Home
// Assistant.
func (cn *conn) forget(id int64) {
	cn.mu.Lock()
	delete(cn.pending, id)
	cn.mu.Unlock()
}

// unsubscribe stops routing events for subscription id and asks Home
// Assistant to end it, without waiting for the answer. It never blocks: if
// the write queue is full the subscription ends with the connection.
func (cn *conn) unsubscribe(id int64) {
	cn.forget(id)
	cmd := fmt.Appendf(nil, `{"type":"unsubscribe_events","subscription":%d}`, id)
	select {
	case cn.writeq <- outgoing{cmd: cmd, call: &call{}}:
	default:
		cn.log.Debug().Int64("id", id).Msg("write queue full; subscription ends with the connection")
	}
}

// Ping measures the round trip of Home Assistant's ping command on the
// current connection. It does not wait for a connection: while disconnected
// it returns an error wrapping ErrUnavailable at once.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	cn := c.current()
	if cn == nil {
		return 0, fmt.Errorf("%w: %s", ErrUnavailable, c.Status().LastError)
	}
	d, err := cn.ping(ctx)
	if errors.Is(err, errNotSent) {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return d, err
}
