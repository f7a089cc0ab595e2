package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// errTooManySessions is returned when every session slot is in use.
var errTooManySessions = errors.New("too many client sessions; retry later")

// restSessions remembers the client sessions made by POST /mcp/initialize.
// A session expires after ttl without use. It is safe for concurrent use and
// starts no goroutine: expired sessions are swept when the store is full.
type restSessions struct {
	ttl time.Duration
	max int

	mu       sync.Mutex // guards lastUsed
	lastUsed map[string]time.Time
}

func newRESTSessions(ttl time.Duration, maxSessions int) *restSessions {
	return &restSessions{ttl: ttl, max: maxSessions, lastUsed: make(map[string]time.Time)}
}

// open creates or renews the session id; an empty id gets a random one. It
// returns the session's id.
func (s *restSessions) open(id string, now time.Time) (string, error) {
	if id == "" {
		id = newSessionID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.lastUsed[id]; !ok && len(s.lastUsed) >= s.max {
		s.sweepLocked(now)
		if len(s.lastUsed) >= s.max {
			return "", errTooManySessions
		}
	}
	s.lastUsed[id] = now
	return id, nil
}

// touch renews a live session and reports whether it exists.
func (s *restSessions) touch(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.lastUsed[id]
	if !ok {
		return false
	}
	if now.Sub(last) > s.ttl {
		delete(s.lastUsed, id)
		return false
	}
	s.lastUsed[id] = now
	return true
}

// count returns the number of sessions, expired ones not yet swept included.
func (s *restSessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lastUsed)
}

func (s *restSessions) sweepLocked(now time.Time) {
	for id, last := range s.lastUsed {
		if now.Sub(last) > s.ttl {
			delete(s.lastUsed, id)
		}
	}
}

// newSessionID returns 128 random bits in hex: visible ASCII, unguessable.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
