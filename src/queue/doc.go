// Package queue schedules jobs: a bounded priority queue with aging, per-key
// locks that serialise writes in arrival order, deduplication of identical
// in-flight reads and idempotent replay of repeated requests. It knows nothing
// of pools or MCP; a job is just a function to run.
//
// # Scheduling
//
// A Queue runs at most Concurrency jobs at once. When a slot is free it starts
// the eligible waiting job with the most urgent effective priority, oldest
// first. The effective priority is the job's own priority, raised to that of
// any more urgent job waiting behind it (priority inheritance, see Locks),
// then raised by one level per AgingInterval spent waiting, so a BULK job
// waiting behind a constant stream of HIGH jobs still runs.
//
// # Locks
//
// A job's Locks are keys such as entity ids. Each key keeps its jobs in
// arrival order. A write (Job.Write) holds its keys exclusively; a read with
// Locks holds them shared, so reads run in parallel with each other but never
// overlap a write on the same key, and see the writes that arrived before
// them. A job is eligible only when no conflicting job is ahead of it on any
// of its keys, so a later job never overtakes an earlier conflicting one, even
// with a higher priority; instead it lends its priority to the jobs it waits
// for. A job takes all its keys at once when it starts, which cannot deadlock:
// the oldest waiting job waits only for running jobs. A job blocked on a key
// does not block other eligible jobs behind it (no head-of-line blocking).
//
// # Invariants
//
// All scheduling state is guarded by Queue.mu; every change that can make a
// job startable (arrival, completion, removal, SetConcurrency, Run) dispatches
// under that lock, so no timer or separate dispatcher goroutine is needed.
//
//   - A call (one execution, shared by every caller that joined it) is in
//     exactly one state: queued (in Queue.queued and in the key list of each of
//     its keys), running (in its key lists only, counted in Queue.running) or
//     done (in neither).
//   - Queue.queued and every key list are sorted by arrival sequence.
//   - A call starts only when no call ahead of it on any of its keys conflicts
//     with it (same key, at least one a write).
//   - len(Queue.queued) <= MaxSize; Queue.running <= concurrency, except right
//     after SetConcurrency lowers it (no new start until it is true again).
//   - A queued or running call has at least one waiter. When the last waiter
//     leaves, a queued call is removed and a running call's context is
//     cancelled.
//   - Queue.dedup maps a key only to a call that is not done, not cancelled,
//     and has no write queued after it on one of its keys.
package queue
