package bridge

import (
	"sync"
	"time"
)

// Bounds of the killers record: at most maxKillers digests (64 bytes of hex
// each, about 20 KiB with the map's overhead), each kept killerTTL.
const (
	maxKillers = 256
	killerTTL  = 10 * time.Minute
)

// killers remembers, by content digest, the requests that were running when
// their session died. A request can crash a child (a payload its decoder
// cannot take); the first loss may still be an unrelated crash, so a read
// is retried once, but a request that ends a second session is not retried
// again and does not count against the breaker a second time, so that one
// client's bad request cannot take every child or the breaker down. A
// request that merely shared a dying child is recorded too; the cost is one
// retry less for it within killerTTL. The zero value is not usable; it is
// safe for concurrent use.
type killers struct {
	now func() time.Time

	mu    sync.Mutex // guards seen, order
	seen  map[string]time.Time
	order []string // digests, oldest first
}

func newKillers() *killers {
	return &killers{now: time.Now, seen: make(map[string]time.Time)}
}

// add records that digest's request lost its session and reports whether
// it had already lost one within killerTTL.
func (k *killers) add(digest string) (again bool) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked(now)
	if _, again = k.seen[digest]; !again {
		k.order = append(k.order, digest)
	}
	k.seen[digest] = now
	return again
}

// sweepLocked forgets expired digests and the oldest beyond maxKillers.
func (k *killers) sweepLocked(now time.Time) {
	for len(k.order) > 0 {
		d := k.order[0]
		if len(k.order) < maxKillers && now.Sub(k.seen[d]) < killerTTL {
			return
		}
		k.order[0] = ""
		k.order = k.order[1:]
		delete(k.seen, d)
	}
}
