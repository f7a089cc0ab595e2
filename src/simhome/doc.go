// Package simhome is the simulated home behind `serve --demo` and the
// tests: a faithful fake Home Assistant: the WebSocket API at
// /api/websocket (auth phase, result and event envelopes, message coalescing,
// subscriptions, service calls applied to a state machine, registries,
// templates, validate_config) and the REST API under /api (states,
// services, events, templates, history, logbook, automation configs).
//
// Tests start one with NewServer(t, Options{}); the add-on binary starts
// one with New and Start for `serve --demo`. The wire format follows Home
// Assistant core's websocket_api, api, history, logbook and config
// components: State.as_dict with Python isoformat timestamps and ULID
// context ids, HA's error codes, messages and translation keys, voluptuous'
// error texts for schema failures.
//
// Knobs drive the house from outside (SetState, FireStates, FireEvent,
// RemoveState), inject faults (FailService, SetLatency, DropConnections,
// Stop/Restart) and observe (ServiceCalls, Connections, Subscriptions,
// State).
//
// Where the fake simplifies, it says so rather than inventing a result:
//   - Templates implement a real subset of Jinja (expressions, if/for/set,
//     the common filters, tests and Home Assistant functions); anything else
//     fails with a TemplateError-shaped message naming what is unsupported.
//   - Services change states at once (covers do not stay "opening"),
//     automations and scripts record their runs without executing actions.
//   - Schema validation covers each service's fields, ranges and options,
//     and the common trigger, condition and action shapes.
//
// A Server is safe for concurrent use: every connection has its own reader
// and an ordered writer, events reach subscribers in one global order, and
// Close waits for every goroutine it started.
package simhome
