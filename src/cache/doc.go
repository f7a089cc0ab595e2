// Package cache keeps recent answers of read-only Home Assistant tools so
// that repeated reads skip the queue and the children, and drops each answer
// as soon as Home Assistant says something it depends on changed.
//
// L1 is in memory (patrickmn/go-cache for storage and expiry, with a
// least-recently-used bound on entries and on bytes); L2 is an optional
// Redis shared by bridge instances, whose invalidations travel over Redis
// pub/sub. Per-tool policies (Config.Policies, DefaultPolicies) give each
// tool a TTL, a level and a fallback strategy; writes are never cached.
//
// # Keys and dependencies
//
// A key is the tool, the exposure profile that shaped the answer, and the
// canonical form of the arguments (Canonical: keys sorted, no insignificant
// space), so that {"a":1, "b":2} and {"b":2,"a":1} share an entry. Each entry
// records what it depends on (Deps): entity ids, entity-list filters
// (domain, state, search, device class), and coarse tags (services,
// registries, the set of entities, the tool list). A state_changed event for
// light.kitchen removes the entries naming light.kitchen and the lists whose
// filter matched the entity before or after the change; nothing else. The
// entity and filter indexes make that independent of the cache's size.
//
// # Watermarks
//
// A fill (one per key at a time) is registered in the same indexes while it
// runs, so an invalidation of anything it depends on dooms it: its answer is
// not stored, and later readers start a fresh fill instead of joining it.
// Children read Home Assistant over their own connections and may lag the
// bridge's event stream; when an answer says how current it is (ViewTime),
// an answer older than the newest event the cache knew for its
// dependencies when the fill started is neither stored nor served: the
// fill is retried until the child catches up or Config.MaxLagWait passes
// (ErrViewBehind). An answer that does not say is served but not stored
// when it started within Config.Settle of such an event.
//
// While the event subscription is down (Pause, or Config.Connected turning
// false), everything that depends on Home Assistant is flushed and nothing
// of it is cached; Resume (or the Missed event that hass delivers once it
// has re-subscribed) flushes again and resumes.
package cache
