package cache

// Stats is the cache part of the status endpoint.
type Stats struct {
	HitRate       float64 `json:"hit_rate"` // hits / (hits + misses) since New; 0 before any read
	Size          int     `json:"size"`     // L1 entries
	Bytes         int     `json:"bytes"`    // approximate L1 size
	Evictions     uint64  `json:"evictions"`
	Hits          uint64  `json:"hits"`
	Misses        uint64  `json:"misses"`
	Invalidations uint64  `json:"invalidations"`
	Paused        bool    `json:"paused"` // the event subscription is down
	L2            string  `json:"l2"`     // "off", "up" or "down"
}

// Stats returns the cache's figures.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	s := Stats{
		Size: c.store.len(), Bytes: c.store.bytes, Evictions: c.stats.evictions,
		Hits: c.stats.hits, Misses: c.stats.misses, Invalidations: c.stats.invalidations, Paused: c.paused, L2: "off",
	}
	c.mu.Unlock()
	if n := s.Hits + s.Misses; n > 0 {
		s.HitRate = float64(s.Hits) / float64(n)
	}
	if c.l2 != nil {
		s.L2 = "down"
		if c.l2.up() {
			s.L2 = "up"
		}
	}
	return s
}
