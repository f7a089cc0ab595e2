package mcpconn

import (
	"encoding/json"
	"errors"
	"fmt"
)

var (
	// ErrNotSent reports that a request never reached the child: no session,
	// the child failed to start, or the session closed before the write. The
	// request is safe to retry anywhere.
	ErrNotSent = errors.New("mcpconn: request not sent")

	// ErrSessionLost reports that the child exited or closed its output after
	// the request was written and before it answered: the outcome is unknown.
	ErrSessionLost = errors.New("mcpconn: session lost")

	// ErrLineTooLong reports a message from the child longer than
	// Config.MaxMessageBytes. The session cannot find the next message
	// boundary reliably afterwards, so it is treated as lost.
	ErrLineTooLong = errors.New("mcpconn: message too long")

	// ErrUnsupportedVersion reports a child that answered initialize with a
	// protocol version this package does not speak.
	ErrUnsupportedVersion = errors.New("mcpconn: unsupported protocol version")
)

// RPCError is a JSON-RPC error object answered by the child.
type RPCError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("mcpconn: child answered error %d: %s", e.Code, e.Message)
}

// JSON-RPC error codes this package answers with.
const (
	codeMethodNotFound = -32601
	codeInternalError  = -32603
)

// lostError is the error pending calls get when the session ends.
func lostError(cause error) error {
	if cause == nil {
		return ErrSessionLost
	}
	return fmt.Errorf("%w: %w", ErrSessionLost, cause)
}

// notSentError wraps cause (often a ctx error) as ErrNotSent.
func notSentError(cause error) error {
	if cause == nil {
		return ErrNotSent
	}
	return fmt.Errorf("%w: %w", ErrNotSent, cause)
}
