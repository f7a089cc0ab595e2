package httpapi

import (
	"context"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// shutdownSignal is fired when the server starts shutting down. The zero
// value is ready to use; it is safe for concurrent use.
type shutdownSignal struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *shutdownSignal) init() {
	s.once.Do(func() { s.ctx, s.cancel = context.WithCancel(context.Background()) })
}

// done returns a context cancelled once fire has been called.
func (s *shutdownSignal) done() context.Context {
	s.init()
	return s.ctx
}

func (s *shutdownSignal) fire() {
	s.init()
	s.cancel()
}

// endStreamsAtShutdown cancels GET requests when the server starts shutting
// down. http.Server.Shutdown waits for every request to end, and an event
// stream (GET /sse, the Streamable HTTP GET stream that MCP clients keep
// open) never ends on its own: with one client connected, every stop would
// wait out ShutdownTimeout and fail. GET requests are event streams or
// cheap reads; POSTs, which carry calls, are left to finish.
func (s *Server) endStreamsAtShutdown(c *gin.Context) {
	if c.Request.Method != http.MethodGet {
		c.Next()
		return
	}
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	stop := context.AfterFunc(s.stopping.done(), cancel)
	defer stop()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}
