package bridge

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by Call and ListTools. Transports classify them with
// errors.Is (and errors.As for *CircuitOpenError); they wrap the detail.
var (
	// ErrInvalidRequest: the request is malformed (bad tool name, arguments
	// not a JSON object). Not retryable.
	ErrInvalidRequest = errors.New("bridge: invalid request")
	// ErrUnknownTool: no child offers the tool, even after a fresh tools/list.
	ErrUnknownTool = errors.New("bridge: unknown tool")
	// ErrOutcomeUnknown: the session died after a write was sent; the write
	// may or may not have been applied. The bridge does not retry it.
	ErrOutcomeUnknown = errors.New("bridge: the MCP session died during the call; the write may or may not have been applied")
	// ErrTimeout: the call's timeout (queue wait plus execution) ran out.
	ErrTimeout = errors.New("bridge: call timed out")
	// ErrUnavailable: no child could run the call (every attempt failed to
	// be sent or lost its session).
	ErrUnavailable = errors.New("bridge: no MCP session could serve the call")
	// ErrCircuitOpen: the circuit breaker is open after repeated failures;
	// the call was refused without touching the children. The error is a
	// *CircuitOpenError carrying when to retry.
	ErrCircuitOpen = errors.New("bridge: circuit breaker open")
	// ErrKillsSessions: the MCP session running the call ended, and the same
	// request (same tool and arguments) had ended a session before: the
	// request itself is the likely cause, so it is not retried. Such a loss
	// does not count against the circuit breaker either.
	ErrKillsSessions = errors.New("bridge: the MCP session ended while running this request, and it has ended one before; it is not retried")
	// ErrClosed: the bridge is shutting down.
	ErrClosed = errors.New("bridge: shutting down")
)

// CircuitOpenError is returned while the breaker refuses calls. It matches
// ErrCircuitOpen with errors.Is.
type CircuitOpenError struct {
	// RetryAfter is how long until the breaker lets a probe through; at
	// least one second.
	RetryAfter time.Duration
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("%v; retry in %v", ErrCircuitOpen, e.RetryAfter)
}

// Is reports whether target is ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// RetryAfter returns how long a caller should wait before retrying err, and
// whether err says so (open breaker). Transports turn it into Retry-After.
func RetryAfter(err error) (time.Duration, bool) {
	var co *CircuitOpenError
	if errors.As(err, &co) {
		return co.RetryAfter, true
	}
	return 0, false
}

// TimeoutError is the error of a call whose time ran out. It matches
// ErrTimeout with errors.Is, and ErrOutcomeUnknown too for a write that had
// started: Home Assistant may have applied it. Message is what a client
// should read; Error adds the internal cause for logs.
type TimeoutError struct {
	After   time.Duration // the call's (or attempt's) timeout
	Write   bool          // the call is a write
	Started bool          // the write had started running when time ran out
	Err     error         // the internal cause, for logs; may be nil
}

// Message says what happened, without internal detail.
func (e *TimeoutError) Message() string {
	msg := fmt.Sprintf("the call timed out after %v", e.After)
	switch {
	case e.Write && e.Started:
		msg += "; the write was sent and may or may not have been applied: check the state before repeating it"
	case e.Write:
		msg += " while waiting to run; the write was not sent"
	}
	return msg
}

// OutcomeUnknown reports whether a write may have been applied.
func (e *TimeoutError) OutcomeUnknown() bool { return e.Write && e.Started }

func (e *TimeoutError) Error() string {
	if e.Err == nil {
		return "bridge: " + e.Message()
	}
	return "bridge: " + e.Message() + ": " + e.Err.Error()
}

// Unwrap returns the internal cause.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is matches ErrTimeout, and ErrOutcomeUnknown for a write that started.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == ErrOutcomeUnknown && e.OutcomeUnknown()
}
