package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Rate limit defaults, from the seed design (rate_limiting).
const (
	DefaultRequestsPerSecond = 10
	DefaultBurstCapacity     = 100
)

// RateLimitConfig limits requests per client address on the /mcp routes.
type RateLimitConfig struct {
	// Enabled turns the limit on (rate_limiting.enabled).
	Enabled bool
	// RequestsPerSecond is the sustained rate allowed per client. If zero,
	// 10.
	RequestsPerSecond float64
	// BurstCapacity is how many requests a client may send at once. If
	// zero, 100.
	BurstCapacity int
}

// Validate reports negative or non-finite settings.
func (c RateLimitConfig) Validate() error {
	if c.RequestsPerSecond < 0 || math.IsNaN(c.RequestsPerSecond) || math.IsInf(c.RequestsPerSecond, 0) || c.BurstCapacity < 0 {
		return errors.New("httpapi: rate limit settings must be finite and not negative")
	}
	return nil
}

// rate turns the token-bucket settings into ulule/limiter's fixed window:
// BurstCapacity requests per BurstCapacity/RequestsPerSecond seconds, which
// allows the burst and averages the rate.
func (c RateLimitConfig) rate() limiter.Rate {
	rps := c.RequestsPerSecond
	if rps == 0 {
		rps = DefaultRequestsPerSecond
	}
	burst := c.BurstCapacity
	if burst == 0 {
		burst = DefaultBurstCapacity
	}
	period := time.Duration(float64(burst) / rps * float64(time.Second))
	return limiter.Rate{Period: max(period, time.Millisecond), Limit: int64(burst)}
}

// rateLimit returns middleware that answers 429 with Retry-After to clients
// over the limit, keyed by the TCP peer address (IPv6 by /64, as one host
// usually owns the prefix). X-Forwarded-For is ignored: it is the client's to
// forge. The memory store's cleanup goroutine belongs to ulule/limiter and
// ends when the store is garbage collected.
func (m *MCP) rateLimit(cfg RateLimitConfig) gin.HandlerFunc {
	rate := cfg.rate()
	lim := limiter.New(memory.NewStore(), rate)
	return func(c *gin.Context) {
		res, err := lim.Get(c.Request.Context(), clientKey(c.Request.RemoteAddr))
		if err != nil { // the memory store does not fail; let the request through if it does
			m.log.Error().Err(err).Msg("rate limiter failed")
			c.Next()
			return
		}
		c.Header("X-RateLimit-Limit", strconv.FormatInt(res.Limit, 10))
		c.Header("X-RateLimit-Remaining", strconv.FormatInt(res.Remaining, 10))
		c.Header("X-RateLimit-Reset", strconv.FormatInt(res.Reset, 10))
		if res.Reached {
			m.rateLimited.Inc()
			wait := max(time.Until(time.Unix(res.Reset, 0)), time.Second)
			m.writeMCPError(c, nil, &rateLimitError{retryAfter: wait})
			return
		}
		c.Next()
	}
}

// clientKey is the rate-limit key of a peer address "ip:port".
func clientKey(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	addr := ap.Addr().Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return addr.String()
	}
	return fmt.Sprint(p)
}
