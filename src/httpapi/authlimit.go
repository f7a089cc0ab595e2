package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
)

// Defaults of Config's failed-authentication limit.
const (
	DefaultMaxAuthFailures   = 10
	DefaultAuthFailureWindow = time.Minute
)

// msgAuthLimited answers a client over the failed-authentication limit.
const msgAuthLimited = "too many failed authentications from this address; retry later"

// maxAuthFailureAddrs bounds the addresses authFailures tracks at once
// (about 100 bytes each, so under 1 MiB); past it expired windows are
// dropped first, then arbitrary ones.
const maxAuthFailureAddrs = 8192

// authFailures limits failed authentications per client address (IPv4
// address or IPv6 /64, as the rate limit keys them), in fixed windows, so
// that the token cannot be guessed at network speed. A client over the
// limit is refused before its token is even compared, whether right or
// wrong: otherwise a guess that succeeds would still stand out. It starts no
// goroutine and is safe for concurrent use.
type authFailures struct {
	max    int
	window time.Duration
	log    zerolog.Logger

	mu     sync.Mutex // guards byAddr
	byAddr map[string]failureWindow
	// tracked is len(byAddr), read without the lock: with no failure on
	// record, every request passes without taking it.
	tracked atomic.Int64
}

// failureWindow counts one address's failures since start.
type failureWindow struct {
	start time.Time
	n     int
}

func newAuthFailures(max int, window time.Duration, log zerolog.Logger) *authFailures {
	return &authFailures{max: max, window: window, log: log, byAddr: make(map[string]failureWindow)}
}

// blocked answers 429 and reports true when c's address used up its
// failures in the current window.
func (a *authFailures) blocked(c *gin.Context) bool {
	if a.tracked.Load() == 0 {
		return false
	}
	now := time.Now()
	a.mu.Lock()
	w, ok := a.byAddr[clientKey(c.Request.RemoteAddr)]
	a.mu.Unlock()
	if !ok || now.Sub(w.start) >= a.window || w.n < a.max {
		return false
	}
	a.refuse(c, w.start.Add(a.window).Sub(now))
	return true
}

// failed counts a failed authentication and answers it: 401 with message,
// or 429 once the address has used up its failures. Each failure is logged
// with the peer and the reason, never with the token.
func (a *authFailures) failed(c *gin.Context, message string) {
	a.failedWith(c, message, authFailureReason(c.GetHeader("Authorization")))
}

// failedWith is failed with the reason to log.
func (a *authFailures) failedWith(c *gin.Context, message, reason string) {
	now := time.Now()
	w := a.count(clientKey(c.Request.RemoteAddr), now)
	a.log.Warn().Str("remote", c.Request.RemoteAddr).Str("method", c.Request.Method).
		Str("reason", reason).
		Int("failures_left", max(a.max-w.n, 0)).Msg("authentication failed")
	if w.n > a.max {
		a.refuse(c, w.start.Add(a.window).Sub(now))
		return
	}
	unauthorized(c, message)
}

// count adds one failure to key's window and returns the window.
func (a *authFailures) count(key string, now time.Time) failureWindow {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.byAddr[key]
	if !ok || now.Sub(w.start) >= a.window {
		if !ok && len(a.byAddr) >= maxAuthFailureAddrs {
			a.evictLocked(now)
		}
		w = failureWindow{start: now}
	}
	w.n++
	a.byAddr[key] = w
	a.tracked.Store(int64(len(a.byAddr)))
	return w
}

// evictLocked drops the expired windows, or, if none has expired, one.
func (a *authFailures) evictLocked(now time.Time) {
	for k, w := range a.byAddr {
		if now.Sub(w.start) >= a.window {
			delete(a.byAddr, k)
		}
	}
	for k := range a.byAddr {
		if len(a.byAddr) < maxAuthFailureAddrs {
			break
		}
		delete(a.byAddr, k)
	}
	a.tracked.Store(int64(len(a.byAddr)))
}

func (a *authFailures) refuse(c *gin.Context, wait time.Duration) {
	wait = max(wait, time.Second)
	c.Header("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
	writeError(c, http.StatusTooManyRequests, CodeRateLimited, msgAuthLimited)
}

// authFailureReason says what was wrong with an Authorization header
// without repeating any of it.
func authFailureReason(header string) string {
	switch {
	case header == "":
		return "no Authorization header"
	case len(header) < 7 || !strings.EqualFold(header[:7], "Bearer "):
		return "not a Bearer token"
	}
	return "wrong token"
}
