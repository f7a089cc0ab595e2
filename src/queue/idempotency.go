package queue

import (
	"errors"
	"time"
)

// ErrNotReplayable is the outcome replayed for an IdempotencyKey whose first
// job ran but whose outcome was too large to keep (see
// Config.MaxIdempotencyBytes). The job is not run again: it may have had its
// effect.
var ErrNotReplayable = errors.New("queue: the first job with this idempotency key ran, but its outcome was too large to keep for replay")

// idemEntryOverhead approximates what an entry costs besides its key and
// value: the map slot, the fifo slot, the call and its error.
const idemEntryOverhead = 256

// idemStore maps idempotency keys to calls: in-flight ones until they finish,
// then finished ones until ttl after their outcome. It is bounded: in-flight
// entries by the callers waiting in Do, finished ones by max entries and
// maxBytes bytes (keys, values and overhead); a value over maxValue bytes is
// not kept, a marker replaying ErrNotReplayable is. The zero value is not
// usable; all methods need Queue.mu.
type idemStore struct {
	ttl      time.Duration
	max      int
	maxBytes int64
	maxValue int64
	bytes    int64 // of the finished entries in fifo
	calls    map[string]*call
	fifo     []idemEntry // finished entries, oldest (first to expire) first
}

type idemEntry struct {
	key     string
	c       *call
	expires time.Time
	size    int64
}

func newIdemStore(ttl time.Duration, max int, maxBytes int64) idemStore {
	return idemStore{ttl: ttl, max: max, maxBytes: maxBytes, maxValue: maxBytes / 16, calls: make(map[string]*call)}
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
	kept := c
	if int64(len(c.val)) > s.maxValue {
		kept = &call{state: stateDone, ran: true, err: ErrNotReplayable, done: closedChan}
	}
	for _, k := range c.idemKeys {
		if s.calls[k] == c {
			s.calls[k] = kept
			size := int64(len(k)+len(kept.val)) + idemEntryOverhead
			s.fifo = append(s.fifo, idemEntry{key: k, c: kept, expires: now.Add(s.ttl), size: size})
			s.bytes += size
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

// sweepLocked drops the finished entries that expired or exceed max or
// maxBytes, oldest first.
func (s *idemStore) sweepLocked(now time.Time) {
	for len(s.fifo) > 0 && (len(s.fifo) > s.max || s.bytes > s.maxBytes || !now.Before(s.fifo[0].expires)) {
		e := s.fifo[0]
		s.fifo[0] = idemEntry{} // let the value be collected
		s.fifo = s.fifo[1:]
		s.bytes -= e.size
		if s.calls[e.key] == e.c {
			delete(s.calls, e.key)
		}
	}
}

// len returns the number of keys held.
func (s *idemStore) len() int { return len(s.calls) }

// bytesHeld returns the bytes the finished entries hold, as counted.
func (s *idemStore) bytesHeld() int64 { return s.bytes }

// closedChan is the done channel of calls that are born finished.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()
