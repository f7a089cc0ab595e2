package cache

import (
	"container/list"
	"encoding/json"
	"time"
)

// staleStore keeps the last answer of each key, whatever invalidated it
// since, for Fallback. It is bounded in entries and bytes, least recently
// written first out. It is not safe for concurrent use: Cache.mu guards it.
type staleStore struct {
	byKey      map[string]*list.Element
	lru        list.List // of *staleEntry, newest first
	bytes      int
	maxEntries int
	maxBytes   int
}

type staleEntry struct {
	key string
	raw json.RawMessage
	at  time.Time
}

func newStaleStore(maxEntries, maxBytes int) *staleStore {
	return &staleStore{byKey: map[string]*list.Element{}, maxEntries: maxEntries, maxBytes: maxBytes}
}

func (s *staleStore) put(key string, raw json.RawMessage, at time.Time) {
	if el, ok := s.byKey[key]; ok {
		s.bytes -= len(el.Value.(*staleEntry).raw) + len(key)
		s.lru.Remove(el)
	}
	s.byKey[key] = s.lru.PushFront(&staleEntry{key: key, raw: raw, at: at})
	s.bytes += len(raw) + len(key)
	for s.lru.Len() > s.maxEntries || s.bytes > s.maxBytes {
		old := s.lru.Remove(s.lru.Back()).(*staleEntry)
		delete(s.byKey, old.key)
		s.bytes -= len(old.raw) + len(old.key)
	}
}

func (s *staleStore) get(key string) (*staleEntry, bool) {
	el, ok := s.byKey[key]
	if !ok {
		return nil, false
	}
	return el.Value.(*staleEntry), true
}

// keepStaleLocked remembers raw, which is not a tool error, as key's last
// answer when tool's policy falls back to cached answers.
func (c *Cache) keepStaleLocked(key, tool string, raw json.RawMessage) {
	switch c.cfg.Policies[tool].Fallback {
	case FallbackCachedOrEmpty, FallbackCachedOrMinimal:
		if len(raw) <= c.cfg.MaxEntryBytes {
			c.stale.put(key, raw, time.Now())
		}
	}
}
