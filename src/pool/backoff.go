package pool

import "time"

// backoff is the delay before restarting a child: min after the first
// failure, doubling after each further one, capped at max. The zero value
// with min and max set is ready; not safe for concurrent use (each slot has
// its own).
type backoff struct {
	min, max time.Duration
	cur      time.Duration // last delay returned; 0 before the first failure
}

// next returns the delay to wait now and advances.
func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur >= b.max/2:
		b.cur = b.max
	default:
		b.cur *= 2
	}
	return b.cur
}

// reset forgets past failures.
func (b *backoff) reset() { b.cur = 0 }
