package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadControl: an X-Cache-Control value the cache does not understand.
var ErrBadControl = errors.New("cache: bad cache control")

// Control is a caller's say in one read, from an X-Cache-Control header
// (the seed's API) with HTTP's request semantics. The zero value uses the
// cache normally.
type Control struct {
	// NoCache: do not answer from the cache; fill (and store the fresh
	// answer unless NoStore). Such a fill does not join another caller's.
	NoCache bool
	// NoStore: do not store the answer of this call. A cached answer may
	// still be given (as in RFC 9111).
	NoStore bool
	// MaxAge, when HasMaxAge, accepts a cached answer only if it is at
	// most that old; max-age=0 is no-cache.
	MaxAge    time.Duration
	HasMaxAge bool
}

// maxMaxAge bounds max-age so that seconds never overflow a Duration.
const maxMaxAge = 100 * 365 * 24 * time.Hour

// ParseControl parses a comma-separated list of directives: no-cache,
// no-store, max-age=N (seconds). Directive names are case-insensitive;
// unknown directives are ignored, as HTTP caches do. A malformed max-age
// wraps ErrBadControl.
func ParseControl(header string) (Control, error) {
	var c Control
	for part := range strings.SplitSeq(header, ",") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache":
			c.NoCache = true
		case "no-store":
			c.NoStore = true
		case "max-age":
			value = strings.Trim(strings.TrimSpace(value), `"`)
			n, err := strconv.ParseUint(value, 10, 63)
			if !hasValue || err != nil {
				return Control{}, fmt.Errorf("%w: max-age=%q: want whole seconds", ErrBadControl, value)
			}
			d := maxMaxAge
			if n < uint64(maxMaxAge/time.Second) {
				d = time.Duration(n) * time.Second
			}
			if !c.HasMaxAge || d < c.MaxAge {
				c.MaxAge, c.HasMaxAge = d, true
			}
		}
	}
	if c.HasMaxAge && c.MaxAge == 0 {
		c.NoCache = true
	}
	return c, nil
}

// String formats c as a header value; ParseControl(c.String()) == c.
func (c Control) String() string {
	var parts []string
	if c.NoCache && !(c.HasMaxAge && c.MaxAge == 0) {
		parts = append(parts, "no-cache")
	}
	if c.NoStore {
		parts = append(parts, "no-store")
	}
	if c.HasMaxAge {
		parts = append(parts, "max-age="+strconv.FormatInt(int64(c.MaxAge/time.Second), 10))
	}
	return strings.Join(parts, ", ")
}
