// Package bridge is the transport-free core of MCP Bridge: every transport
// (the REST API, MCP over HTTP, the stdio front end) answers a tools/call
// through Bridge.Call, which classifies the call (read or write, priority,
// timeout, entity locks), queues it, runs it on a child MCP session through
// an Executor, retries what is safe to retry, and guards the children with a
// circuit breaker.
//
// The package imports neither the pool nor Home Assistant: it declares the
// small interfaces it needs (Executor, SessionStats) and main adapts the
// concrete types to them.
//
// # Retries and outcomes
//
// A read is retried (3 attempts, exponential backoff) when an attempt was
// not sent, its session died, or the attempt timed out: reads have no side
// effect, so running one twice is harmless. A write is retried only when it
// was never sent; if the session died after the write was sent, the caller
// gets ErrOutcomeUnknown, because the child may or may not have applied it.
//
// # Cancellation
//
// A caller that goes away (its ctx ends) leaves the queue at once. A queued
// call is removed; a running read is cancelled in the child (unless other
// callers share it). A running write is not: it runs to its end or its
// timeout, holding its entity locks, because cancelling it would leave its
// effect unknown and let the next write to the same entity overlap it.
//
// # Locks
//
// Writes take queue locks on the entities they name, so that two writes to
// one entity run one after the other in arrival order while writes to other
// entities overlap. See Locks for which arguments are looked at. A write that
// names no entity, area or device locks "tool:<name>": such writes (reloads,
// automations, scripts) are serialised per tool, because the bridge cannot
// tell what they touch.
package bridge
