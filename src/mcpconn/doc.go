// Package mcpconn speaks JSON-RPC to one stdio MCP server running as a child
// process: it spawns the command, performs the initialize handshake, routes
// answers to callers by request id, answers the child's own requests, and
// stops the child in the order the MCP specification asks for.
//
// The bridge is the MCP client of its children. A [Session] owns the id space
// of everything it sends, so callers never choose JSON-RPC ids and several
// calls can be in flight on one child at once. Errors tell a caller whether a
// request may be retried safely: [ErrNotSent] means the child never saw it,
// [ErrSessionLost] means it was written and the child went away before
// answering (the outcome is unknown), and [*RPCError] is an error the child
// answered.
//
// Messages the child sends that belong to a call (progress, log messages,
// requests such as sampling/createMessage) go to the [Handlers] attached to
// that call's context with [WithHandlers], or to the session's own Handlers.
// Notification handlers run on whichever goroutine is reading the child's
// output at the time, often a waiting call's own (see read.go), so they
// must not block for long.
package mcpconn
