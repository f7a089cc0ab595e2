package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Defaults of Config's request limits.
const (
	DefaultBodyReadTimeout = 30 * time.Second
	DefaultMaxHeaderBytes  = 32 << 10
	// serverMaxHeaderBytes is net/http's own limit, above ours: past it
	// net/http answers 431 in plain text before any handler runs, so ours
	// must be the one that clients meet.
	serverMaxHeaderBytes = http.DefaultMaxHeaderBytes
)

// CodeBodyTimeout is the code of a request whose body did not arrive within
// Config.BodyReadTimeout; CodeHeadersTooLarge of headers over
// Config.MaxHeaderBytes.
const (
	CodeBodyTimeout     = -31012
	CodeHeadersTooLarge = -31013
)

// Errors of reading a request body; the client sees their messages.
var (
	errBodyRead    = errors.New("the request body could not be read (malformed chunked encoding, or shorter than Content-Length)")
	errBodyTimeout = errors.New("the request body did not arrive in time")
)

// bodyReadError classifies an error of reading the request body: the
// client's doing in every case the server did not cause.
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	}
	return errBodyRead
}

// limitBodyRead bounds the time a request's body may take to arrive, from
// the end of its headers, so that a client announcing a body and never
// sending it cannot hold a connection. It sets a read deadline on the
// connection and lifts it once the body is read, so that a long-lived
// answer (an event stream) is not cut. No deadline is set on writes.
func limitBodyRead(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
			c.Next()
			return
		}
		rc := http.NewResponseController(c.Writer)
		// ErrNotSupported (a recorder in tests, HTTP/2) leaves the body
		// without a deadline.
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
			c.Request.Body = &timedBody{ReadCloser: c.Request.Body, rc: rc}
		}
		c.Next()
	}
}

// timedBody lifts the connection's read deadline once its body is read.
type timedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done atomic.Bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && b.done.CompareAndSwap(false, true) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// closeIfBodyUnread asks net/http to close the connection after an answer
// written before the body was read (a 401, a refusal): otherwise it would
// first try to read the rest of the body, which a client may never send,
// and the answer would wait for it.
func closeIfBodyUnread(c *gin.Context) {
	if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
		return
	}
	if b, ok := c.Request.Body.(*timedBody); ok && b.done.Load() {
		return
	}
	c.Header("Connection", "close")
}

// limitHeaders answers 431 with a JSON error when the request line and
// headers exceed max bytes. net/http's own, larger limit answers in plain
// text; this one comes first so that clients get JSON.
func limitHeaders(max int) gin.HandlerFunc {
	return func(c *gin.Context) {
		n := len(c.Request.Method) + len(c.Request.RequestURI) + len(c.Request.Proto) + len(c.Request.Host) + 10
		for k, vs := range c.Request.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4 // ": " and CRLF
			}
		}
		if n > max {
			writeError(c, http.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge,
				"request headers too large: the limit is "+strconv.Itoa(max)+" bytes")
			return
		}
		c.Next()
	}
}
