// Package hass is a client for Home Assistant's WebSocket and REST APIs.
//
// One [Client] keeps a single authenticated WebSocket connection to Home
// Assistant (standalone at ws://host:8123/api/websocket, or through the
// Supervisor proxy at ws://supervisor/core/websocket) and multiplexes many
// concurrent commands over it: every command gets its own id and its own
// answer. [Client.Run] owns the connection: it dials, authenticates, sends a
// heartbeat, and reconnects with exponential backoff and jitter whenever the
// connection drops or Home Assistant refuses it, so Home Assistant being down
// at start is not fatal. Event subscriptions made with [Client.Subscribe]
// survive reconnects; after each one the subscriber first receives an
// [Event] with Missed set, because events may have been lost meanwhile.
//
// The REST half ([Client.REST] and the typed helpers built on it) shares the
// same token. Tokens are never logged.
package hass
