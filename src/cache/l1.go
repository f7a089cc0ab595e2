package cache

import (
	"container/list"
	"encoding/json"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// entryOverhead approximates an entry's memory besides its answer and key
// (the entry, its list element, index and map slots), so that MaxBytes
// bounds many tiny entries too.
const entryOverhead = 256

// entry is one cached answer.
type entry struct {
	h       holder
	raw     json.RawMessage
	tool    string
	size    int
	stored  time.Time
	expires time.Time
	level   Level // where it was filled: L1 here, or L2 by another instance
	elem    *list.Element
}

// l1 is the in-memory level: go-cache holds the entries by key; a list
// orders them by use, which go-cache does not, so that the least recently
// used go first when the entry or byte bound is reached. Expiry is each
// entry's own deadline, checked here rather than by go-cache, because an
// entry must leave the list and the indexes when it leaves the map: go-cache
// would hide an expired item from Get while keeping it. Its janitor is not
// started (Cache.Run sweeps), so it owns no goroutine. l1 is not safe for
// concurrent use: Cache.mu guards it.
type l1 struct {
	gc         *gocache.Cache
	lru        *list.List // of *entry, most recently used first
	bytes      int
	maxEntries int
	maxBytes   int
}

func newL1(maxEntries, maxBytes int) *l1 {
	return &l1{gc: gocache.New(gocache.NoExpiration, 0), lru: list.New(), maxEntries: maxEntries, maxBytes: maxBytes}
}

func (s *l1) len() int { return s.lru.Len() }

func (s *l1) touch(e *entry) { s.lru.MoveToFront(e.elem) }

// oldest returns the least recently used entry, or nil.
func (s *l1) oldest() *entry {
	if b := s.lru.Back(); b != nil {
		return b.Value.(*entry)
	}
	return nil
}

// over reports which bound is exceeded: "size", "bytes" or "".
func (s *l1) over() string {
	switch {
	case s.lru.Len() > s.maxEntries:
		return evictSize
	case s.bytes > s.maxBytes:
		return evictBytes
	}
	return ""
}

// Eviction reasons, the reason label of mcp_bridge_cache_evictions_total.
const (
	evictSize    = "size"    // past Config.MaxSize
	evictBytes   = "bytes"   // past Config.MaxBytes
	evictExpired = "expired" // its TTL ran out
)

// getLocked returns the live entry of key, removing it if it expired.
func (c *Cache) getLocked(key string, now time.Time) *entry {
	v, ok := c.store.gc.Get(key)
	if !ok {
		return nil
	}
	e := v.(*entry)
	if !now.Before(e.expires) {
		c.removeLocked(e, evictExpired)
		return nil
	}
	return e
}

// putLocked stores e, replacing an entry of the same key, and evicts the
// least recently used entries past the bounds.
func (c *Cache) putLocked(e *entry) {
	if v, ok := c.store.gc.Get(e.h.key); ok {
		c.dropLocked(v.(*entry))
	}
	e.size = len(e.raw) + len(e.h.key) + entryOverhead
	c.store.gc.Set(e.h.key, e, gocache.NoExpiration)
	e.elem = c.store.lru.PushFront(e)
	c.store.bytes += e.size
	c.ix.add(&e.h)
	for reason := c.store.over(); reason != ""; reason = c.store.over() {
		c.removeLocked(c.store.oldest(), reason)
	}
	c.m.setSize(c.store.len(), c.store.bytes)
}

// removeLocked evicts e for reason.
func (c *Cache) removeLocked(e *entry, reason string) {
	c.dropLocked(e)
	c.stats.evictions++
	c.m.evictions[reason].Inc()
}

// dropLocked takes e out of the store and the indexes.
func (c *Cache) dropLocked(e *entry) {
	if e.elem == nil {
		return // already dropped
	}
	c.store.lru.Remove(e.elem)
	e.elem = nil
	c.store.bytes -= e.size
	c.store.gc.Delete(e.h.key)
	c.ix.remove(&e.h)
	c.m.setSize(c.store.len(), c.store.bytes)
}

// sweep removes the expired entries; Run calls it every CleanupInterval.
func (c *Cache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.store.lru.Back(); el != nil; {
		e := el.Value.(*entry)
		el = el.Prev()
		if !now.Before(e.expires) {
			c.removeLocked(e, evictExpired)
		}
	}
}
