package httpapi

import (
	"errors"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/semaphore"
)

// DefaultMaxBodyBytesInFlight is MCPConfig.MaxBodyBytesInFlight's default.
const DefaultMaxBodyBytesInFlight = 64 << 20

// errBusy refuses a request whose body would take the bodies held at once
// past their limit.
var errBusy = errors.New("the bridge holds too many request bodies at once; retry later")

// limitBodies bounds the memory of the request bodies the /mcp routes hold
// at once (read, queued, running): each request reserves its Content-Length,
// or MaxBodyBytes when it does not say, until it is answered. A request that
// does not fit is refused at once with 503 rather than waiting, so that a
// flood of large bodies cannot exhaust memory while the queue's own bound
// (a number of calls) is not reached.
func (m *MCP) limitBodies() gin.HandlerFunc {
	sem := semaphore.NewWeighted(m.cfg.MaxBodyBytesInFlight)
	return func(c *gin.Context) {
		n := c.Request.ContentLength
		if n < 0 || n > m.cfg.MaxBodyBytes {
			n = m.cfg.MaxBodyBytes // readBody refuses more than that
		}
		if n == 0 {
			c.Next()
			return
		}
		if !sem.TryAcquire(n) {
			m.writeMCPError(c, nil, errBusy)
			return
		}
		defer sem.Release(n)
		c.Next()
	}
}
