package hass

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
)

// Subscription delivers the events of one event type, in the order Home
// Assistant fired them, across reconnects. It is safe for concurrent use.
//
// Delivery never blocks the connection: when the buffer (Config.EventBuffer)
// is full, events are dropped and the next event delivered has Missed set.
// After each reconnect, and when the subscription was made while
// disconnected, an Event with only EventType and Missed set comes first.
type Subscription struct {
	c         *Client
	eventType string
	ch        chan Event
	sent      atomic.Uint64 // events put in ch

	mu     sync.Mutex // guards closed, missed, cn, id
	closed bool
	missed bool  // events were dropped; flag the next one delivered
	cn     *conn // connection the subscription is active on, if any
	id     int64 // its subscription id there
}

// Subscribe subscribes to events of eventType ("" for all events). If the
// client is connected, Subscribe waits (bounded by ctx) for Home Assistant
// to confirm and returns its error if it refuses. While disconnected it
// returns at once and the subscription starts with the next connection.
// Call Close when done.
func (c *Client) Subscribe(ctx context.Context, eventType string) (*Subscription, error) {
	s := &Subscription{c: c, eventType: eventType, ch: make(chan Event, c.cfg.EventBuffer)}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return s, nil // the next connection activates it, Missed first
	}
	err := s.activate(ctx, cn, false)
	if err == nil || errors.Is(err, errNotSent) || errors.Is(err, ErrConnectionLost) {
		// On a lost connection the next one re-subscribes s, Missed first.
		return s, nil
	}
	s.Close()
	return nil, err
}

// Events returns the channel of events. It is closed by Close.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Delivered returns how many events have been put in the Events channel.
// An event the read loop handled before the answer to a command (see
// Client) is counted by the time that answer is delivered, so a reader
// that has taken as many events as Delivered said after its last command
// has seen every event delivered before that command's answer. Events
// dropped on a full buffer are not counted: that they were lost shows on
// the next event delivered (Missed).
func (s *Subscription) Delivered() uint64 { return s.sent.Load() }

// Close ends the subscription: Home Assistant is told to stop sending
// (unsubscribe_events, without waiting) and the Events channel is closed.
// Close is idempotent and never blocks on the network.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	cn, id := s.cn, s.id
	close(s.ch)
	s.mu.Unlock()

	s.c.mu.Lock()
	delete(s.c.subs, s)
	s.c.mu.Unlock()
	if cn != nil && id != 0 && !cn.dead() {
		cn.unsubscribe(id)
	}
}

// activate subscribes s on cn. If missed, the Missed event is queued first,
// so that it precedes every event of the new subscription.
func (s *Subscription) activate(ctx context.Context, cn *conn, missed bool) error {
	if missed {
		s.push(s.missedEvent())
	}
	cmd := map[string]any{"type": "subscribe_events"}
	if s.eventType != "" {
		cmd["event_type"] = s.eventType
	}
	body, err := encodeCommand(cmd)
	if err != nil {
		return err
	}
	cl := newCall(s.onEvent)
	if _, err := cn.roundTrip(ctx, body, cl); err != nil {
		return err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed && !cn.dead() { // a dead cn may already have a successor
		s.cn, s.id = cn, cl.id
	}
	s.mu.Unlock()
	if closed {
		cn.unsubscribe(cl.id) // closed while the subscription was being confirmed
	}
	return nil
}

func (s *Subscription) missedEvent() Event {
	return Event{EventType: s.eventType, Missed: true}
}

// onEvent decodes one event from the read loop and delivers it.
func (s *Subscription) onEvent(raw json.RawMessage) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		s.c.log.Warn().Err(err).Str("event_type", s.eventType).Msg("dropping undecodable event")
		s.mu.Lock()
		s.missed = true
		s.mu.Unlock()
		return
	}
	s.push(ev)
}

// push delivers ev without blocking, or drops it and remembers to flag the
// next delivered event as Missed.
func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.missed {
		ev.Missed = true
	}
	select {
	case s.ch <- ev:
		s.sent.Add(1)
		s.missed = false
	default:
		s.missed = true
	}
}

// resubscribe activates every subscription that existed when cn was
// published, each preceded by a Missed event.
func (c *Client) resubscribe(cn *conn, subs []*Subscription) {
	for _, s := range subs {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			continue
		}
		err := s.activate(context.Background(), cn, true)
		if cn.dead() {
			return
		}
		if err != nil {
			c.log.Error().Err(err).Str("event_type", s.eventType).Msg("re-subscribing failed; retrying on next connection")
		}
	}
}
