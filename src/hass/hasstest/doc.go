// Package hasstest is a faithful fake Home Assistant: the WebSocket API at
// /api/websocket (auth phase, result and event envelopes, message coalescing,
// subscriptions, service calls applied to a state machine, registries,
// templates) and the REST API under /api (states, services, templates,
// history, logbook, automation configs).
//
// Tests start one with NewServer(t, Options{}); the binary starts one with
// New and Start for `serve --demo`. The wire format follows Home Assistant
// core's websocket_api and api components; where the fake simplifies (the
// template language, service schemas), it answers with Home Assistant's own
// error shapes rather than inventing a result.
//
// A Server is safe for concurrent use: every connection has its own reader
// and an ordered writer, and events reach subscribers in one global order.
package hasstest
