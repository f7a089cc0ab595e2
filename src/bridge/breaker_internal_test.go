package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// Issue #9 (fault suite, queue_overflow): calls that waited out their time
// in a full queue started with none left, failed with "request not sent:
// context deadline exceeded", and opened the breaker for everyone although
// no child had failed.
func TestBreakerViewOfCallsThatNeverReachedAChild(t *testing.T) {
	notSent := fmt.Errorf("%w: %w", mcpconn.ErrNotSent, context.DeadlineExceeded)
	tests := []struct {
		name   string
		p      plan
		err    error
		blamed bool // counted against the children
	}{
		{"deadline before the request was written", plan{}, fmt.Errorf("pool: child-3 (pid 1): %w", notSent), false},
		{"deadline waiting for a free child", plan{}, fmt.Errorf("pool: waiting for a free child: %w", notSent), false},
		{"deadline after the request was written", plan{}, fmt.Errorf("attempt: %w", context.DeadlineExceeded), true},
		{"session lost", plan{}, mcpconn.ErrSessionLost, true},
		{"child gone before the write", plan{}, fmt.Errorf("%w: %w", mcpconn.ErrNotSent, errors.New("session closed")), true},
		{"caller's own short timeout", plan{callerTimeout: true}, fmt.Errorf("attempt: %w", context.DeadlineExceeded), false},
	}
	for _, tt := range tests {
		got := breakerView(tt.p, tt.err)
		if blamed := !errors.Is(got, errNotChildren); blamed != tt.blamed {
			t.Errorf("%s: breakerView(%v) = %v; counted against the children = %v, want %v", tt.name, tt.err, got, blamed, tt.blamed)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: breakerView(%v) = %v, which no longer wraps the error", tt.name, tt.err, got)
		}
	}
}
