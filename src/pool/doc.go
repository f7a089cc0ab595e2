// Package pool supervises stdio MCP child processes and hands out sessions.
//
// A [Pool] keeps between MinSessions and MaxSessions children of one command
// running, each an initialized [mcpconn.Session]. [Pool.Call] sends a
// request to the least busy ready child, waiting (bounded by its ctx) while
// every child is at MaxInflightPerSession. Each child is pinged every
// HealthCheckInterval; one that crashes, closes its output or fails a
// health check is stopped in the MCP specification's order and replaced
// after an exponential backoff that resets once a child has stayed up for
// RestartBackoffMax. A command that cannot start is logged, shown in
// [Pool.Stats], retried with backoff, and makes callers fail fast with an
// error wrapping [ErrUnavailable] and [mcpconn.ErrNotSent] instead of
// waiting for a child that is not coming.
//
// With AutoScale the pool grows by ScaleFactor while the queue in front of
// it (QueueLength plus callers waiting in the pool) is longer than twice
// the ready children and calls take longer than ScaleUpLatency on average,
// and stops children idle for IdleTimeout down to MinSessions.
//
// When the ctx given to [Pool.Run] ends, the pool refuses new calls, lets
// calls in flight finish for up to DrainTimeout, then stops every child and
// waits for them.
package pool
