package pool

import (
	"errors"
	"fmt"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

var (
	// ErrClosed reports a call made after the pool began stopping.
	ErrClosed = errors.New("pool: closed")
	// ErrUnavailable reports that no child is ready and the last attempt to
	// start one failed, so waiting would likely be in vain.
	ErrUnavailable = errors.New("pool: no MCP session available")
)

// errClosed is what Call returns once the pool is stopping; the request
// was not sent, so it may be retried elsewhere.
var errClosed = fmt.Errorf("%w (%w)", ErrClosed, mcpconn.ErrNotSent)

// unavailableError carries why children cannot start.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return ErrUnavailable.Error() + ": " + e.cause.Error() }

// Unwrap lets errors.Is match ErrUnavailable, mcpconn.ErrNotSent and the
// start failure (e.g. exec.ErrNotFound).
func (e *unavailableError) Unwrap() []error {
	return []error{ErrUnavailable, mcpconn.ErrNotSent, e.cause}
}
