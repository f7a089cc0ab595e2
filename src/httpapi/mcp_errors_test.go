package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// TestClassify is the error mapping table of the /mcp routes: every error
// class, wrapped as the bridge wraps it, gets its status, code and
// Retry-After.
func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("outer: %w", err) }
	tests := []struct {
		name       string
		err        error
		status     int
		code       int
		retryAfter bool
	}{
		{"malformed JSON", fmt.Errorf("%w: unexpected EOF", errBadJSON), 400, CodeParseError, false},
		{"bad field", fmt.Errorf("%w: unknown field \"x\"", errBadInput), 400, CodeInvalidParams, false},
		{"bad arguments", wrap(bridge.ErrInvalidRequest), 400, CodeInvalidParams, false},
		{"too large", errTooLarge, 413, CodeTooLarge, false},
		{"body unreadable", fmt.Errorf("%w: %w", errBodyRead, io.ErrUnexpectedEOF), 400, CodeParseError, false},
		{"body late", fmt.Errorf("%w: %w", errBodyTimeout, os.ErrDeadlineExceeded), 408, CodeBodyTimeout, false},
		{"unknown session", errUnknownSession, 404, CodeUnknownSession, false},
		{"not replayable", wrap(queue.ErrNotReplayable), 409, CodeNotReplayable, false},
		{"bodies at their limit", errBusy, 503, CodeBusy, true},
		{"unknown tool", fmt.Errorf("%w: %q", bridge.ErrUnknownTool, "nope"), 404, CodeInvalidParams, false},
		{"rate limited", &rateLimitError{retryAfter: 3 * time.Second}, 429, CodeRateLimited, true},
		{"queue full", wrap(queue.ErrFull), 503, CodeQueueFull, true},
		{"too many sessions", errTooManySessions, 503, CodeQueueFull, true},
		{"breaker open", wrap(&bridge.CircuitOpenError{RetryAfter: 20 * time.Second}), 503, CodeCircuitOpen, true},
		{"bridge closed", wrap(bridge.ErrClosed), 503, CodeShuttingDown, true},
		{"queue closed", wrap(queue.ErrClosed), 503, CodeShuttingDown, true},
		{"write aborted by a stop", wrap(&bridge.StopError{Write: true, Started: true}), 502, CodeOutcomeUnknown, false},
		{"read aborted by a stop", wrap(&bridge.StopError{}), 503, CodeShuttingDown, true},
		{"timeout", fmt.Errorf("%w after 30s", bridge.ErrTimeout), 504, CodeTimeout, false},
		{"timed-out write", wrap(&bridge.TimeoutError{After: time.Second, Write: true, Started: true, Err: queue.ErrAbandoned}), 504, CodeTimeout, false},
		{"outcome unknown", fmt.Errorf("%w: %w", bridge.ErrOutcomeUnknown, mcpconn.ErrSessionLost), 502, CodeOutcomeUnknown, false},
		{"unavailable", fmt.Errorf("%w after 3 attempt(s): %w", bridge.ErrUnavailable, mcpconn.ErrNotSent), 502, CodeUnavailable, false},
		{"bad child result", bridge.ErrBadResult, 502, CodeUnavailable, false},
		{"request kills sessions", fmt.Errorf("%w: %w", bridge.ErrKillsSessions, mcpconn.ErrSessionLost), 502, CodeUnavailable, false},
		{"child invalid params", wrap(&mcpconn.RPCError{Code: -32602, Message: "missing entity_id"}), 400, -32602, false},
		{"child internal error", wrap(&mcpconn.RPCError{Code: -32603, Message: "boom"}), 502, -32603, false},
		{"client gone", wrap(context.Canceled), statusClientClosed, CodeShuttingDown, false},
		{"anything else", errors.New("surprise"), 500, CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if got.Status != tt.status || got.Code != tt.code {
				t.Errorf("classify(%v) = %d %d, want %d %d", tt.err, got.Status, got.Code, tt.status, tt.code)
			}
			if (got.RetryAfter > 0) != tt.retryAfter {
				t.Errorf("classify(%v).RetryAfter = %v, want set: %v", tt.err, got.RetryAfter, tt.retryAfter)
			}
			if got.Message == "" {
				t.Errorf("classify(%v) has no message", tt.err)
			}
			if got.Code >= -32099 && got.Code <= -32000 {
				t.Errorf("code %d is in the range JSON-RPC reserves for implementations", got.Code)
			}
		})
	}
}

// TestClassifyHidesDetail checks that internal detail stays in the log.
func TestClassifyHidesDetail(t *testing.T) {
	err := fmt.Errorf("%w after 3 attempt(s): %w", bridge.ErrUnavailable,
		fmt.Errorf("%w: write |1: broken pipe /tmp/secret", mcpconn.ErrSessionLost))
	if got := classify(err).Message; got != "no MCP session could serve the call" {
		t.Errorf("message = %q, want the generic one", got)
	}
	killed := fmt.Errorf("%w: %w", bridge.ErrKillsSessions, fmt.Errorf("%w: child exited: exit status 2", mcpconn.ErrSessionLost))
	if got := classify(killed).Message; strings.Contains(got, "exit status") || !strings.Contains(got, "not retried") {
		t.Errorf("message = %q, want ErrKillsSessions' own", got)
	}
	if got := classify(errors.New("secret detail")).Message; got != "internal error" {
		t.Errorf("message = %q, want %q", got, "internal error")
	}
	_ = http.StatusOK
}
