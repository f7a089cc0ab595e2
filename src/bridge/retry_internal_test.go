package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// TestRetryPolicy is the retry and breaker table: which failures are
// retried for reads and writes, what the caller finally sees, and which
// count against the circuit breaker.
func TestRetryPolicy(t *testing.T) {
	notSent := fmt.Errorf("pool: %w: %w", mcpconn.ErrNotSent, context.DeadlineExceeded)
	lost := fmt.Errorf("pool: %w: EOF", mcpconn.ErrSessionLost)
	attemptTimeout := fmt.Errorf("attempt timed out: %w", context.DeadlineExceeded)
	rpc := fmt.Errorf("pool: %w", &mcpconn.RPCError{Code: -32602, Message: "bad"})
	cancelled := fmt.Errorf("pool: %w: %w", mcpconn.ErrNotSent, context.Canceled)
	open := &CircuitOpenError{RetryAfter: 1}
	tests := []struct {
		name             string
		err              error
		readRetry, write bool  // retried for a read, for a write
		readFinal        error // what a read ends with after the last attempt
		writeFinal       error
		infra            bool // counts against the breaker
	}{
		{"not sent", notSent, true, true, ErrUnavailable, ErrUnavailable, true},
		{"session lost", lost, true, false, ErrUnavailable, ErrOutcomeUnknown, true},
		{"attempt timeout", attemptTimeout, true, false, ErrTimeout, ErrOutcomeUnknown, true},
		{"child refused", rpc, false, false, rpc, rpc, false},
		{"caller left", cancelled, true, true, ErrUnavailable, ErrUnavailable, false},
		{"breaker open", open, false, false, ErrCircuitOpen, ErrCircuitOpen, false},
	}
	b := &Bridge{}
	read, write := plan{kind: KindRead}, plan{kind: KindWrite}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.retryable(read, tt.err); got != tt.readRetry {
				t.Errorf("read retryable = %v, want %v", got, tt.readRetry)
			}
			if got := b.retryable(write, tt.err); got != tt.write {
				t.Errorf("write retryable = %v, want %v", got, tt.write)
			}
			if got := b.attemptsFailed(read, 3, tt.err); !errors.Is(got, tt.readFinal) {
				t.Errorf("read final error = %v, want %v", got, tt.readFinal)
			}
			if got := b.attemptsFailed(write, 1, tt.err); !errors.Is(got, tt.writeFinal) {
				t.Errorf("write final error = %v, want %v", got, tt.writeFinal)
			}
			if got := isInfraFailure(tt.err); got != tt.infra {
				t.Errorf("isInfraFailure = %v, want %v", got, tt.infra)
			}
		})
	}
}
