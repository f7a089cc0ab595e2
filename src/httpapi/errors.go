package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
)

// Error codes in the JSON-RPC error bodies this package writes. The -32xxx
// codes are JSON-RPC's own; -31xxx are the bridge's (outside the range that
// JSON-RPC reserves for implementation-defined server errors, -32000..-32099).
const (
	CodeInternal     = -32603 // JSON-RPC "Internal error"
	CodeNotFound     = -32601 // JSON-RPC "Method not found", used for unknown paths
	CodeUnauthorized = -31001 // missing or invalid bearer token
	CodeForbidden    = -31003 // caller's address may not use this listener
)

// ErrNoHealthChecker is returned by Config.Validate when Health is nil.
var ErrNoHealthChecker = errors.New("httpapi: Config.Health is required")

// errorBody is the JSON-RPC-style error answer: an error response with a null
// id, which is what JSON-RPC answers when it cannot tie an error to a request.
type errorBody struct {
	JSONRPC string      `json:"jsonrpc"`
	ID      *int        `json:"id"`
	Error   errorDetail `json:"error"`
}

type errorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeError aborts the request with status and a JSON-RPC-style error body.
// message is shown to the client, so it must not carry internal detail.
func writeError(c *gin.Context, status, code int, message string) {
	closeIfBodyUnread(c)
	c.AbortWithStatusJSON(status, errorBody{
		JSONRPC: "2.0",
		Error:   errorDetail{Code: code, Message: message},
	})
}

// recovery turns a panic in a handler into a logged 500 with a JSON error
// body instead of a dropped connection. http.ErrAbortHandler is re-panicked:
// it is net/http's way to abort a response on purpose.
func recovery(log zerolog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.Error().Str("method", c.Request.Method).Str("path", c.FullPath()).
				Str("panic", fmt.Sprint(v)).Msg("handler panicked")
			if c.Writer.Written() {
				c.Abort() // too late for a JSON body; the client sees a truncated answer
				return
			}
			writeError(c, http.StatusInternalServerError, CodeInternal, "internal error")
		}()
		c.Next()
	}
}

// notFound answers unknown paths and methods.
func notFound(c *gin.Context) {
	writeError(c, http.StatusNotFound, CodeNotFound, "no route for "+c.Request.Method+" "+c.Request.URL.Path)
}

// methodNotAllowed answers a known path asked with the wrong method; gin
// has already set the Allow header.
func methodNotAllowed(c *gin.Context) {
	writeError(c, http.StatusMethodNotAllowed, CodeNotFound,
		c.Request.Method+" is not allowed on "+c.Request.URL.Path+"; use "+c.Writer.Header().Get("Allow"))
}
