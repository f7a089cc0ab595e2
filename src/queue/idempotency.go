package queue

import "time"

// idemStore maps idempotency keys to calls: in-flight ones until they finish,
// then finished ones until ttl after their outcome. It is bounded: in-flight
// entries by the callers waiting in Do, finished ones by max. The zero value
// is not usable; all methods need Queue.mu.
type idemStore struct {
	ttl   time.Duration
	max   int
	calls map[string]*call
	fifo  []idemEntry // finished entries, oldest (first to expire) first
}

type idemEntry struct {
	key     string
	c       *call
	expires time.Time
}

func newIdemStore(ttl time.Duration, max int) idemStore {
	return idemStore{ttl: ttl, max: max, calls: make(map[string]*call)}
}

// get returns the call registered under key, or nil.
func (s *idemStore) get(key string) *call {
	if key == "" {
		return nil
	}
	return s.calls[key]
}

// addLocked registers the in-flight call c under key, if key is not empty.
func (s *idemStore) addLocked(key string, c *call) {
	if key == "" {
		return
	}
	s.calls[key] = c
	c.idemKeys = append(c.idemKeys, key)
}

// completeLocked starts the ttl of c's keys now that its outcome is known, or
// forgets them if c never ran.
func (s *idemStore) completeLocked(c *call, now time.Time) {
	if !c.ran {
		s.forgetLocked(c)
		return
	}
	for _, k := range c.idemKeys {
		if s.calls[k] == c {
			s.fifo = append(s.fifo, idemEntry{key: k, c: c, expires: now.Add(s.ttl)})
		}
	}
	s.sweepLocked(now)
}

// forgetLocked drops c's keys: a call that never ran has no outcome to
// replay, so a repeat must execute.
func (s *idemStore) forgetLocked(c *call) {
	for _, k := range c.idemKeys {
		if s.calls[k] == c {
			delete(s.calls, k)
		}
	}
}

// sweepLocked drops the finished entries that expired or exceed max.
func (s *idemStore) sweepLocked(now time.Time) {
	for len(s.fifo) > 0 && (len(s.fifo) > s.max || !now.Before(s.fifo[0].expires)) {
		e := s.fifo[0]
		s.fifo[0] = idemEntry{} // let the value be collected
		s.fifo = s.fifo[1:]
		if s.calls[e.key] == e.c {
			delete(s.calls, e.key)
		}
	}
}

// len returns the number of keys held.
func (s *idemStore) len() int { return len(s.calls) }
