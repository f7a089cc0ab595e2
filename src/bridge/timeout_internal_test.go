package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Issue #9: a write whose time ran out while it ran, noticed by the queue
// as "every caller left", was reported as a dead MCP session.
func TestFinalErrorOfTimedOutCalls(t *testing.T) {
	qctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	abandoned := fmt.Errorf("%w: %w", queue.ErrAbandoned, context.Canceled)
	queued := fmt.Errorf("%w: while queued: %w", queue.ErrNotStarted, context.DeadlineExceeded)
	write, read := plan{kind: KindWrite, timeout: 30 * time.Second}, plan{kind: KindRead, timeout: 10 * time.Second}
	tests := []struct {
		name    string
		p       plan
		err     error
		started bool
		unknown bool
		says    string
	}{
		{"write abandoned at its deadline", write, abandoned, true, true, "the call timed out after 30s; the write was sent and may or may not have been applied: check the state before repeating it"},
		{"write queued past its deadline", write, queued, false, false, "the call timed out after 30s while waiting to run; the write was not sent"},
		{"read", read, abandoned, true, false, "the call timed out after 10s"},
	}
	b := &Bridge{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.finalError(context.Background(), qctx, tt.p, tt.err, tt.started)
			var te *TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) {
				t.Fatalf("error = %v, want a *TimeoutError", err)
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got != tt.unknown {
				t.Errorf("outcome unknown = %v, want %v", got, tt.unknown)
			}
			if got := te.Message(); got != tt.says || strings.Contains(got, "queue") {
				t.Errorf("message = %q, want %q", got, tt.says)
			}
		})
	}
}
