package mcphttp

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// writer wraps the ResponseWriter the SDK writes to, for two things the SDK
// does not do:
//
//   - On an event stream that has been quiet for the interval, it writes an
//     SSE comment, so that proxies between the client and the bridge (Home
//     Assistant's ingress, nginx) neither time the stream out nor hold it in
//     a buffer. The SDK writes each event in one Write, and the writer's lock
//     keeps comments between events. Streams are detected when the handler
//     writes its header; other answers start no goroutine.
//   - It turns the SDK's plain-text error answers (http.Error) into JSON-RPC
//     error bodies, so that every error a client gets is JSON.
type writer struct {
	http.ResponseWriter
	interval time.Duration

	mu        sync.Mutex // guards the fields below and writes to ResponseWriter
	last      time.Time  // last write
	done      chan struct{}
	stopped   bool
	header    bool         // WriteHeader was called
	errStatus int          // a plain-text error being turned into JSON
	errText   bytes.Buffer // its text, bounded
}

// maxErrText bounds the error text kept from the SDK.
const maxErrText = 1024

func newWriter(w http.ResponseWriter, interval time.Duration) *writer {
	return &writer{ResponseWriter: w, interval: interval}
}

func (k *writer) WriteHeader(status int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writeHeaderLocked(status)
}

func (k *writer) writeHeaderLocked(status int) {
	if k.header {
		return
	}
	k.header = true
	h := k.Header()
	if status >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		k.errStatus = status // written as JSON by stop
		return
	}
	if status == http.StatusOK && isEventStream(h) && !k.stopped {
		k.done = make(chan struct{})
		k.last = time.Now()
		go k.loop(k.done)
	}
	k.ResponseWriter.WriteHeader(status)
}

func (k *writer) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writeHeaderLocked(http.StatusOK)
	if k.errStatus != 0 {
		k.errText.Write(b[:min(len(b), maxErrText-k.errText.Len())])
		return len(b), nil
	}
	k.last = time.Now()
	return k.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer; the SDK flushes after each event.
func (k *writer) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.errStatus == 0 {
		_ = http.NewResponseController(k.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (k *writer) Unwrap() http.ResponseWriter { return k.ResponseWriter }

// loop writes comments until stop.
func (k *writer) loop(done chan struct{}) {
	t := time.NewTicker(k.interval / 2)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			k.mu.Lock()
			if !k.stopped && now.Sub(k.last) >= k.interval {
				_, err := k.ResponseWriter.Write([]byte(": keep-alive\n\n"))
				_ = http.NewResponseController(k.ResponseWriter).Flush()
				k.last = now
				if err != nil {
					k.stopped = true
				}
			}
			k.mu.Unlock()
		}
	}
}

// stop ends the comments and writes a pending error; the handler has
// returned, so nothing else may be written after it.
func (k *writer) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.done != nil {
		close(k.done)
		k.done = nil
	}
	if k.errStatus != 0 {
		k.Header().Del("X-Content-Type-Options")
		writeJSONError(k.ResponseWriter, k.errStatus, sdkErrorCode(k.errStatus), strings.TrimSpace(k.errText.String()), 0)
		k.errStatus = 0
	}
}

// sdkErrorCode is the JSON-RPC code of an error status the SDK answered.
func sdkErrorCode(status int) int {
	switch status {
	case http.StatusNotFound:
		return httpapi.CodeUnknownSession // the session is unknown or over: initialize again
	case http.StatusForbidden:
		return httpapi.CodeForbidden
	case http.StatusMethodNotAllowed:
		return httpapi.CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return httpapi.CodeTooLarge
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusNotAcceptable:
		return codeInvalidRequest
	}
	return httpapi.CodeInternal
}
