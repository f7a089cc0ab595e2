// Package mcphttp serves MCP over HTTP in front of the bridge: Streamable
// HTTP (protocol versions 2024-11-05 to 2025-11-25 with sessions, and the
// stateless 2026-07-28 era on the same endpoint) and the legacy HTTP+SSE
// transport. The official MCP Go SDK speaks the transports and the
// protocol's own methods (initialize, ping, logging/setLevel, server/discover,
// subscriptions/listen); everything a child serves is relayed through the
// bridge core, so that MCP clients share the REST API's queue, breaker,
// retries and pool.
//
// # Relaying
//
// A receiving middleware on the SDK's server takes tools/list (from the
// bridge's tool catalog, schemas byte for byte), tools/call (bridge.Call),
// and resources/*, prompts/*, completion/complete (bridge.Forward). What a
// child sends about a call (progress, log messages, and its requests for
// sampling, elicitation or roots) reaches the client whose call it is: the
// call carries mcpconn.Handlers bound to that client's session and request.
// A child cannot say which of several calls in flight a log message or a
// request is about, so a call from a client that can answer child requests
// runs alone on its child (mcpconn.Handlers.Exclusive).
//
// # The fast path
//
// A plain tools/call (no progress token) on a session whose client takes no
// requests from children and set no log level is answered on the HTTP
// request's goroutine, without the SDK's session goroutine: as one JSON
// body on Streamable HTTP, as a message event on the HTTP+SSE session's
// stream, with the same JSON-RPC message the SDK would send (fastcall.go,
// sse.go). Everything else goes through the SDK. So that such calls count
// as a session's activity, the handler times Streamable HTTP sessions out
// itself (sessions.go).
//
// Notifications about every client (tools, prompts and resources
// list_changed, resources/updated) come up from the pool through
// bridge.Listen and go to every session, or to the sessions subscribed to
// the resource.
package mcphttp
