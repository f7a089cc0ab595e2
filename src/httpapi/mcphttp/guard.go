package mcphttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
)

// codeInvalidRequest is JSON-RPC's code for a request it cannot take. The
// bridge's own codes (outside JSON-RPC's and MCP's reserved ranges) come
// from httpapi.
const codeInvalidRequest = -32600

// guard wraps serve with what every MCP request meets first: the Origin
// check and CORS, the body's size and nesting limits, unbuffered event
// streams, JSON errors, and the server being ready. What the SDK serves
// also needs the session owner where the SDK looks for it: see identify.
func (h *Handler) guard(serve http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.checkOrigin(w, r) {
			return
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodPost {
			if err := h.readBody(w, r); err != nil {
				writeError(w, err)
				return
			}
		}
		if err := h.ready(r.Context()); err != nil {
			h.log.Warn().Err(err).Msg("no MCP server to serve the request")
			writeError(w, err)
			return
		}
		w.Header().Set("X-Accel-Buffering", "no")
		kw := newWriter(w, h.cfg.KeepAlive)
		defer kw.stop()
		serve(kw, r)
	})
}

// checkOrigin refuses (403) a request whose Origin is neither localhost nor
// allowed: a web page must not drive the bridge from a user's browser (the
// MCP specification's DNS rebinding defence). An allowed origin gets CORS
// headers. Requests without Origin (every non-browser client) pass.
func (h *Handler) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(h.cfg.AllowedOrigins, origin) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID")
		hd.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
		hd.Add("Vary", "Origin")
		return true
	}
	if localOrigin(origin) {
		return true
	}
	writeJSONError(w, http.StatusForbidden, httpapi.CodeForbidden, fmt.Sprintf("origin %q is not allowed; add it to the allowed origins to use the bridge from that page", origin), 0)
	return false
}

// localOrigin reports whether origin is a page served from this machine.
func localOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errTooLarge is the error of a body over MaxBodyBytes.
var errTooLarge = errors.New("request body too large")

// readBody reads a POST body within MaxBodyBytes (the server bounds the
// time it may take to arrive), refuses one nested deeper than MaxDepth, and
// puts it back for the SDK.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		// The rest of the body will not be read: close the connection
		// after the answer rather than wait for it.
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: the limit is %d bytes", errTooLarge, h.cfg.MaxBodyBytes)
		}
		return httpapi.BodyError(err)
	}
	if err := jsonlimit.Check(data, h.cfg.MaxDepth); err != nil {
		return err
	}
	r.Body = &bodyReader{Reader: bytes.NewReader(data), data: data}
	r.ContentLength = int64(len(data))
	return nil
}

// writeError answers err as a JSON-RPC error with a null id.
func writeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errTooLarge):
		writeJSONError(w, http.StatusRequestEntityTooLarge, httpapi.CodeTooLarge, err.Error(), 0)
	case errors.Is(err, jsonlimit.ErrTooDeep):
		writeJSONError(w, http.StatusBadRequest, codeInvalidRequest, err.Error(), 0)
	case errors.Is(err, errTooManySessions):
		writeJSONError(w, http.StatusServiceUnavailable, httpapi.CodeQueueFull, err.Error(), 5*time.Second)
	default:
		e := httpapi.Classify(err)
		if errors.Is(err, bridge.ErrUnavailable) {
			e.Status, e.RetryAfter = http.StatusServiceUnavailable, 5*time.Second
		}
		writeJSONError(w, e.Status, e.Code, e.Message, e.RetryAfter)
	}
}

func writeJSONError(w http.ResponseWriter, status, code int, message string, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retryAfter.Seconds())), 10))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": message},
	})
}

// isEventStream reports whether a response's Content-Type is SSE.
func isEventStream(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
}

// bodyReader is a request body already read by guard, kept for a look at
// its bytes before the SDK reads it.
type bodyReader struct {
	*bytes.Reader
	data []byte
}

func (*bodyReader) Close() error { return nil }
