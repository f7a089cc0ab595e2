package hass

import (
	"math/rand/v2"
	"time"
)

// backoff returns how long to wait before reconnect attempt number attempt
// (0 for the first retry after a failure).
//
// The ceiling doubles from min with every attempt up to max, and the wait is
// drawn uniformly between min and that ceiling ("full jitter" above a floor):
// many clients restarted together spread out instead of hammering Home
// Assistant in lockstep, while the floor guarantees a client with a wrong
// token never loops hot.
func backoff(attempt int, min, max time.Duration, rnd func(n int64) int64) time.Duration {
	if max < min {
		max = min
	}
	ceiling := min
	for i := 0; i < attempt && ceiling < max; i++ {
		ceiling *= 2
	}
	if ceiling > max || ceiling <= 0 { // ceiling <= 0: overflow
		ceiling = max
	}
	span := int64(ceiling - min)
	if span <= 0 {
		return min
	}
	return min + time.Duration(rnd(span+1))
}

// jitter is the random source for backoff in production.
func jitter(n int64) int64 { return rand.Int64N(n) }
