package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// JSON-RPC and bridge error codes of the /mcp routes. JSON-RPC's own codes
// (-32700..-32600) keep their meaning; the bridge's codes sit outside the
// range JSON-RPC and MCP reserve (-32768..-32000), next to CodeUnauthorized
// and CodeForbidden.
const (
	CodeParseError     = -32700 // the body is not JSON
	CodeInvalidParams  = -32602 // bad field, header or arguments; unknown tool (as MCP answers)
	CodeRateLimited    = -31002 // too many requests from this client
	CodeQueueFull      = -31004 // the queue holds its maximum of waiting calls
	CodeCircuitOpen    = -31005 // the circuit breaker refuses calls after repeated failures
	CodeOutcomeUnknown = -31006 // a write's MCP session died: it may or may not have been applied
	CodeTimeout        = -31007 // the call's timeout (queue wait + execution) ran out
	CodeUnavailable    = -31008 // no MCP session could serve the call
	CodeShuttingDown   = -31009 // the bridge is stopping
	CodeTooLarge       = -31010 // the body exceeds the size limit
	CodeUnknownSession = -31011 // X-Session-ID names no session: initialize again
	CodeNotReplayable  = -31014 // request_id names a call that ran but whose answer was too large to keep
	CodeBusy           = -31015 // the request bodies held at once reached their memory limit
)

// statusClientClosed is the status logged when the client left before its
// answer (nginx's convention); the client never sees it.
const statusClientClosed = 499

// apiError is an error as an HTTP client sees it.
type apiError struct {
	Status     int
	Code       int
	Message    string
	Data       any           // JSON-RPC error data, if any
	RetryAfter time.Duration // sent as Retry-After when positive
}

// Input errors raised by this package's parsers. Their messages are meant
// for the client.
var (
	errBadJSON        = errors.New("request body is not valid JSON")
	errBadInput       = errors.New("invalid request")
	errTooLarge       = errors.New("request body too large")
	errUnknownSession = errors.New("unknown session; call /mcp/initialize again")
)

// rateLimitError carries how long the client must wait.
type rateLimitError struct{ retryAfter time.Duration }

func (e *rateLimitError) Error() string { return "rate limit exceeded" }

// classify maps every error the /mcp routes can meet to its HTTP status,
// JSON-RPC code and client message. It is the one place where errors are
// classified; messages never carry internal detail (the log does).
func classify(err error) apiError {
	var rl *rateLimitError
	var rpcErr *mcpconn.RPCError
	var timeout *bridge.TimeoutError
	var stopped *bridge.StopError
	switch {
	case errors.As(err, &rl):
		return apiError{http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded; retry later", nil, rl.retryAfter}
	case errors.Is(err, errBadJSON):
		return apiError{http.StatusBadRequest, CodeParseError, err.Error(), nil, 0}
	case errors.Is(err, errBadInput), errors.Is(err, bridge.ErrInvalidRequest):
		return apiError{http.StatusBadRequest, CodeInvalidParams, unwrapMessage(err), nil, 0}
	case errors.Is(err, errBodyTimeout):
		return apiError{http.StatusRequestTimeout, CodeBodyTimeout, errBodyTimeout.Error(), nil, 0}
	case errors.Is(err, errBodyRead):
		return apiError{http.StatusBadRequest, CodeParseError, errBodyRead.Error(), nil, 0}
	case errors.Is(err, errTooLarge):
		return apiError{http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error(), nil, 0}
	case errors.Is(err, queue.ErrNotReplayable):
		return apiError{http.StatusConflict, CodeNotReplayable,
			"a call with this request_id already ran, but its answer was too large to keep for replay; check the outcome, and use a new request_id to run it again", nil, 0}
	case errors.Is(err, errBusy):
		return apiError{http.StatusServiceUnavailable, CodeBusy, errBusy.Error(), nil, time.Second}
	case errors.Is(err, errUnknownSession):
		return apiError{http.StatusNotFound, CodeUnknownSession, errUnknownSession.Error(), nil, 0}
	case errors.Is(err, bridge.ErrUnknownTool):
		return apiError{http.StatusNotFound, CodeInvalidParams, unwrapMessage(err), nil, 0}
	case errors.Is(err, queue.ErrFull):
		return apiError{http.StatusServiceUnavailable, CodeQueueFull, "the bridge is overloaded: request queue full; retry later", nil, time.Second}
	case errors.Is(err, bridge.ErrCircuitOpen):
		after, _ := bridge.RetryAfter(err)
		return apiError{http.StatusServiceUnavailable, CodeCircuitOpen, "MCP sessions are failing; calls are suspended (circuit breaker open)", nil, after}
	case errors.As(err, &stopped) && stopped.OutcomeUnknown():
		return apiError{http.StatusBadGateway, CodeOutcomeUnknown, stopped.Message(), map[string]string{"outcome": "unknown"}, 0}
	case errors.As(err, &stopped):
		return apiError{http.StatusServiceUnavailable, CodeShuttingDown, stopped.Message(), nil, 5 * time.Second}
	case errors.Is(err, bridge.ErrClosed), errors.Is(err, queue.ErrClosed):
		return apiError{http.StatusServiceUnavailable, CodeShuttingDown, "the bridge is shutting down", nil, 5 * time.Second}
	case errors.As(err, &timeout):
		return apiError{http.StatusGatewayTimeout, CodeTimeout, timeout.Message(), timeoutData(timeout), 0}
	case errors.Is(err, bridge.ErrTimeout):
		return apiError{http.StatusGatewayTimeout, CodeTimeout, "the call timed out", nil, 0}
	case errors.Is(err, bridge.ErrOutcomeUnknown):
		return apiError{http.StatusBadGateway, CodeOutcomeUnknown, bridge.ErrOutcomeUnknown.Error()[len("bridge: "):], nil, 0}
	case errors.As(err, &rpcErr):
		return childError(rpcErr)
	case errors.Is(err, errTooManySessions):
		return apiError{http.StatusServiceUnavailable, CodeQueueFull, errTooManySessions.Error(), nil, time.Second}
	case errors.Is(err, bridge.ErrKillsSessions):
		return apiError{http.StatusBadGateway, CodeUnavailable, unwrapMessage(bridge.ErrKillsSessions), nil, 0}
	case errors.Is(err, bridge.ErrBadResult):
		return apiError{http.StatusBadGateway, CodeUnavailable, unwrapMessage(bridge.ErrBadResult), nil, 0}
	case errors.Is(err, bridge.ErrUnavailable):
		return apiError{http.StatusBadGateway, CodeUnavailable, "no MCP session could serve the call", nil, 0}
	case errors.Is(err, context.Canceled):
		return apiError{statusClientClosed, CodeShuttingDown, "request cancelled", nil, 0}
	}
	return apiError{http.StatusInternalServerError, CodeInternal, "internal error", nil, 0}
}

// timeoutData tells a client of a write whether it may have been applied:
// {"outcome":"unknown"} or {"outcome":"not_applied"}.
func timeoutData(e *bridge.TimeoutError) any {
	switch {
	case e.OutcomeUnknown():
		return map[string]string{"outcome": "unknown"}
	case e.Write:
		return map[string]string{"outcome": "not_applied"}
	}
	return nil
}

// childError passes on a JSON-RPC error answered by the child: its code,
// message and data are meant for the client. Invalid params are the
// client's fault (400); anything else is the child failing (502).
func childError(e *mcpconn.RPCError) apiError {
	status := http.StatusBadGateway
	if e.Code == CodeInvalidParams {
		status = http.StatusBadRequest
	}
	var data any
	if len(e.Data) > 0 && json.Valid(e.Data) {
		data = json.RawMessage(e.Data)
	}
	code := int(max(min(e.Code, math.MaxInt32), math.MinInt32))
	return apiError{status, code, e.Message, data, 0}
}

// unwrapMessage returns err's message without the "bridge: " prefix.
func unwrapMessage(err error) string {
	msg := err.Error()
	const prefix = "bridge: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// rpcErrorBody is the JSON-RPC error answer of the /mcp routes.
type rpcErrorBody struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorDetail  `json:"error"`
}

type rpcErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// writeMCPError classifies err, logs it with its detail, and answers it. id
// is the request's JSON-RPC id, or nil for null.
func (m *MCP) writeMCPError(c *gin.Context, id json.RawMessage, err error) {
	e := classify(err)
	ev := m.log.Debug()
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		ev = m.log.Warn()
	}
	ev.Err(err).Int("status", e.Status).Int("code", e.Code).Str("route", c.FullPath()).Msg("mcp request failed")
	if e.RetryAfter > 0 {
		secs := int64(math.Ceil(e.RetryAfter.Seconds()))
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
	}
	if id == nil {
		id = json.RawMessage("null")
	}
	closeIfBodyUnread(c)
	c.AbortWithStatusJSON(e.Status, rpcErrorBody{
		JSONRPC: "2.0",
		ID:      id,
		Error:   rpcErrorDetail{Code: e.Code, Message: e.Message, Data: e.Data},
	})
}
