package httpapi

import (
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
)

// logRequests logs each request at debug level once it is answered. It logs
// the route pattern rather than the raw path, and never headers, so tokens
// and entity ids in URLs do not end up in the log.
func logRequests(log zerolog.Logger, listener string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if e := log.Debug(); e.Enabled() {
			route := c.FullPath()
			if route == "" {
				route = "(no route)"
			}
			e.Str("listener", listener).
				Str("method", c.Request.Method).
				Str("route", route).
				Int("status", c.Writer.Status()).
				Dur("duration", time.Since(start)).
				Str("remote", c.RemoteIP()).
				Msg("http request")
		}
	}
}
