package mcphttp

import (
	"net/http"
	"sync"
	"time"
)

// keepAliveWriter writes an SSE comment on an event stream that has been
// quiet for the interval, so that proxies between the client and the bridge
// (Home Assistant's ingress, nginx) neither time the stream out nor hold it
// in a buffer. The SDK writes each event in one Write, and the writer's
// lock keeps comments between events. Streams are detected when the
// handler writes its header; other answers start no goroutine.
type keepAliveWriter struct {
	http.ResponseWriter
	interval time.Duration

	mu      sync.Mutex // guards the fields below and writes to ResponseWriter
	last    time.Time  // last write
	done    chan struct{}
	stopped bool
	header  bool // WriteHeader was called
}

func newKeepAliveWriter(w http.ResponseWriter, interval time.Duration) *keepAliveWriter {
	return &keepAliveWriter{ResponseWriter: w, interval: interval}
}

func (k *keepAliveWriter) WriteHeader(status int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writeHeaderLocked(status)
}

func (k *keepAliveWriter) writeHeaderLocked(status int) {
	if k.header {
		return
	}
	k.header = true
	if status == http.StatusOK && isEventStream(k.Header()) && !k.stopped {
		k.done = make(chan struct{})
		k.last = time.Now()
		go k.loop(k.done)
	}
	k.ResponseWriter.WriteHeader(status)
}

func (k *keepAliveWriter) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writeHeaderLocked(http.StatusOK)
	k.last = time.Now()
	return k.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer; the SDK flushes after each event.
func (k *keepAliveWriter) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = http.NewResponseController(k.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (k *keepAliveWriter) Unwrap() http.ResponseWriter { return k.ResponseWriter }

// loop writes comments until stop.
func (k *keepAliveWriter) loop(done chan struct{}) {
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

// stop ends the comments; the handler has returned, so nothing may be
// written after it.
func (k *keepAliveWriter) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.done != nil {
		close(k.done)
		k.done = nil
	}
}
