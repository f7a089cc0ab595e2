package cache

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Invalidation causes, the cause label of mcp_bridge_cache_invalidations_total.
const (
	CauseStateChanged = "state_changed" // a state_changed event
	CauseWrite        = "write"         // a write completed
	CauseTools        = "tools_changed" // a child's tools/list_changed, a pool restart
	CauseServices     = "services"      // service_registered, service_removed
	CauseRegistry     = "registry"      // a registry was updated
	CauseDisconnect   = "disconnect"    // the event subscription dropped
	CauseResync       = "resync"        // events may have been missed
	CauseRemote       = "remote"        // another instance, over Redis
	CauseFlush        = "flush"         // Flush
)

// invalidation collects what one operation invalidated, to finish outside
// the lock: the L2 keys to delete.
type invalidation struct {
	cause  string
	l2Keys []string
}

// hitLocked invalidates one holder: a stored entry is removed, a running
// fill is doomed (its answer will not be stored, and later callers do not
// join it).
func (c *Cache) hitLocked(h *holder, inv *invalidation) {
	if e := h.ent; e != nil && e.elem != nil {
		c.dropLocked(e)
		c.stats.invalidations++
		c.m.invalidations[inv.cause].Inc()
		if c.l2 != nil && c.cfg.Policies[e.tool].Level == LevelL2 {
			inv.l2Keys = append(inv.l2Keys, h.key)
		}
	}
	if fl := h.fl; fl != nil && !fl.doomed {
		fl.doomed = true
		if c.flights[h.key] == fl {
			delete(c.flights, h.key)
		}
	}
}

// done deletes the invalidated L2 entries. Other instances refuse them
// anyway once they know of the invalidation (see adoptL2); deleting spares
// them the round trip.
func (c *Cache) done(ctx context.Context, inv *invalidation) {
	if c.l2 != nil && len(inv.l2Keys) > 0 {
		c.l2.del(ctx, inv.l2Keys)
	}
}

// entityLocked invalidates what a change of one entity reaches.
func (c *Cache) entityLocked(ch change, m mark, inv *invalidation) {
	c.seq++
	domain, _, _ := strings.Cut(ch.id, ".")
	c.marks.entityChanged(ch.id, domain, m)
	c.ix.reached(ch, func(h *holder) { c.hitLocked(h, inv) })
	if ch.old == nil || ch.new == nil {
		c.tagLocked(TagEntitySet, m, inv)
	}
}

// tagLocked invalidates every holder tagged t.
func (c *Cache) tagLocked(t Tag, m mark, inv *invalidation) {
	c.seq++
	c.marks.tagged(t, m)
	c.ix.tagged(t, func(h *holder) { c.hitLocked(h, inv) })
}

// statesLocked invalidates everything that depends on any entity's state
// (a write the cache cannot narrow down).
func (c *Cache) statesLocked(m mark, inv *invalidation) {
	c.seq++
	c.marks.allStates(m)
	each(c.ix.onHA, func(h *holder) {
		if h.deps.AnyState || len(h.deps.Entities) > 0 || len(h.deps.Filters) > 0 {
			c.hitLocked(h, inv)
		}
	})
	c.tagLocked(TagEntitySet, m, inv)
}

// haLocked invalidates everything that depends on Home Assistant.
func (c *Cache) haLocked(m mark, inv *invalidation) {
	c.seq++
	c.marks.allStates(m)
	for _, t := range []Tag{TagServices, TagRegistry, TagEntitySet} {
		c.marks.tagged(t, m)
	}
	each(c.ix.onHA, func(h *holder) { c.hitLocked(h, inv) })
}

// InvalidateEntity drops what depends on entity id, whose new state is
// unknown: the entries naming it and every list of its domain.
func (c *Cache) InvalidateEntity(ctx context.Context, id string) {
	id = strings.ToLower(strings.TrimSpace(id))
	inv := &invalidation{cause: CauseWrite}
	c.mu.Lock()
	c.entityLocked(change{id: id, unknown: true, old: &Snapshot{}, new: &Snapshot{}}, mark{local: time.Now()}, inv)
	c.mu.Unlock()
	c.done(ctx, inv)
	c.publish(ctx, message{Kind: msgEntities, IDs: []string{id}})
}

// Wrote records that a write (call_service, toggle_automation,
// create_automation...) with the given arguments completed: what it
// targets is invalidated at once, before Home Assistant's events confirm
// it, so that a read right after the write does not get the old state.
// A write naming areas, devices, floors, labels or nothing invalidates
// every state. Call it when the write's answer arrives, success or not
// (a failed write may have half-applied). Other instances are told over
// Redis.
func (c *Cache) Wrote(ctx context.Context, tool string, args json.RawMessage) {
	_, decoded, err := Canonical(args)
	ids, broad := writeTargets(decoded)
	if err != nil {
		broad = true
	}
	c.wrote(ids, broad, CauseWrite)
	msg := message{Kind: msgEntities, IDs: ids}
	if broad {
		msg = message{Kind: msgStates}
	}
	c.publish(ctx, msg)
}

func (c *Cache) wrote(ids []string, broad bool, cause string) {
	inv := &invalidation{cause: cause}
	m := mark{local: time.Now()}
	c.mu.Lock()
	if broad {
		c.statesLocked(m, inv)
	}
	for _, id := range ids {
		c.entityLocked(change{id: id, unknown: true, old: &Snapshot{}, new: &Snapshot{}}, m, inv)
	}
	c.mu.Unlock()
	c.done(context.Background(), inv)
}

// InvalidateTag drops everything tagged t; for TagTools, call it on a
// child's notifications/tools/list_changed and when the pool restarts its
// children. Other instances are told over Redis.
func (c *Cache) InvalidateTag(ctx context.Context, t Tag) {
	c.invalidateTag(ctx, t, causeOfTag(t))
	c.publish(ctx, message{Kind: msgTag, Tag: t})
}

func (c *Cache) invalidateTag(ctx context.Context, t Tag, cause string) {
	inv := &invalidation{cause: cause}
	c.mu.Lock()
	c.tagLocked(t, mark{local: time.Now()}, inv)
	c.mu.Unlock()
	c.done(ctx, inv)
}

func causeOfTag(t Tag) string {
	switch t {
	case TagTools:
		return CauseTools
	case TagServices:
		return CauseServices
	case TagRegistry:
		return CauseRegistry
	}
	return CauseStateChanged
}

// Flush drops every entry, here and (over Redis) in other instances.
func (c *Cache) Flush(ctx context.Context) {
	c.flush(ctx, CauseFlush)
	c.publish(ctx, message{Kind: msgFlush})
}

func (c *Cache) flush(ctx context.Context, cause string) {
	inv := &invalidation{cause: cause}
	m := mark{local: time.Now()}
	c.mu.Lock()
	c.haLocked(m, inv)
	c.tagLocked(TagTools, m, inv)
	each(c.ix.all, func(h *holder) { c.hitLocked(h, inv) })
	c.mu.Unlock()
	c.done(ctx, inv)
}

// Pause is called when the event subscription drops: everything that
// depends on Home Assistant is flushed and, until Resume, neither served
// nor stored (reads still fill). The tool list is kept.
func (c *Cache) Pause() {
	inv := &invalidation{cause: CauseDisconnect}
	c.mu.Lock()
	c.paused = true
	c.haLocked(mark{local: time.Now()}, inv)
	c.mu.Unlock()
	c.done(context.Background(), inv)
}

// Resume is called once the subscription is back and resynchronised (hass
// delivers a Missed event then; OnEvent calls Resume for it): what was
// cached meanwhile is flushed again, and caching resumes.
func (c *Cache) Resume() {
	inv := &invalidation{cause: CauseResync}
	c.mu.Lock()
	c.paused = false
	c.haLocked(mark{local: time.Now()}, inv)
	c.mu.Unlock()
	c.done(context.Background(), inv)
}

// Paused reports whether caching of Home Assistant answers is paused.
func (c *Cache) Paused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}
