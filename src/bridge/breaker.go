package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/sony/gobreaker/v2"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// breaker guards the children: after FailureThreshold consecutive failed
// attempts it refuses calls for RecoveryTimeout, then lets probes through.
// A nil *breaker (breaker disabled) allows everything.
type breaker struct {
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	timeout time.Duration

	mu       sync.Mutex // guards openedAt
	openedAt time.Time
}

func newBreaker(cfg BreakerConfig, log zerolog.Logger, onChange func(gobreaker.State)) *breaker {
	if cfg.Disabled {
		return nil
	}
	b := &breaker{timeout: cfg.RecoveryTimeout}
	threshold := uint32(cfg.FailureThreshold)
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "children",
		MaxRequests: uint32(cfg.HalfOpenRequests),
		Timeout:     cfg.RecoveryTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		// Only failures of the children count; a caller going away, or
		// failures tied to one request (see breakerView), say nothing
		// about them.
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled) && !errors.Is(err, mcpconn.ErrSessionLost) ||
				errors.Is(err, errNotChildren)
		},
		IsSuccessful: func(err error) bool { return !isInfraFailure(err) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.mu.Lock()
				b.openedAt = time.Now()
				b.mu.Unlock()
			}
			log.Warn().Str("from", from.String()).Str("to", to.String()).Msg("circuit breaker state changed")
			if onChange != nil {
				onChange(to)
			}
		},
	})
	return b
}

// isInfraFailure reports whether err says the children are in trouble:
// not sent, session lost, or timed out. Tool errors (isError results) and
// JSON-RPC errors answered by a child are the child working as designed.
func isInfraFailure(err error) bool {
	if err == nil {
		return false // before rpcErr, which escapes: no allocation on success
	}
	var rpcErr *mcpconn.RPCError
	switch {
	case errors.As(err, &rpcErr):
		return false
	case errors.Is(err, context.Canceled) && !errors.Is(err, mcpconn.ErrSessionLost):
		return false
	}
	return errors.Is(err, mcpconn.ErrNotSent) || errors.Is(err, mcpconn.ErrSessionLost) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable)
}

// errNotChildren marks, for the breaker only, a failure that one request
// caused: so that a client's bad requests cannot open the breaker for
// everyone.
var errNotChildren = errors.New("bridge: failure tied to the request")

// breakerView is err as the breaker should count it: excluded when it is
// tied to the request rather than to the children, that is a repeated
// session loss under the same request (ErrKillsSessions), a timeout the
// caller chose shorter than the tool's, or a call whose time ran out
// before it reached a child (ErrNotSent): under overload a call can spend
// its whole time limit queued and start with none left, and the children,
// which never saw it, must not be blamed for it.
func breakerView(p plan, err error) error {
	if errors.Is(err, ErrKillsSessions) ||
		errors.Is(err, mcpconn.ErrNotSent) && errors.Is(err, context.DeadlineExceeded) ||
		p.callerTimeout && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, mcpconn.ErrSessionLost) {
		return fmt.Errorf("%w: %w", errNotChildren, err)
	}
	return err
}

// check fails fast while the breaker is open, before a call is queued.
func (b *breaker) check() error {
	if b == nil || b.cb.State() != gobreaker.StateOpen {
		return nil
	}
	return b.openError()
}

// allow admits one attempt; done must be called with its error.
func (b *breaker) allow() (done func(error), err error) {
	if b == nil {
		return func(error) {}, nil
	}
	done, err = b.cb.Allow()
	if err != nil {
		if errors.Is(err, gobreaker.ErrTooManyRequests) {
			// Half-open and the probes are out: try again shortly.
			return nil, &CircuitOpenError{RetryAfter: time.Second}
		}
		return nil, b.openError()
	}
	return done, nil
}

func (b *breaker) openError() error {
	b.mu.Lock()
	left := time.Until(b.openedAt.Add(b.timeout))
	b.mu.Unlock()
	return &CircuitOpenError{RetryAfter: max(left.Round(time.Second), time.Second)}
}

// state returns "closed", "open", "half-open" or "disabled".
func (b *breaker) state() string {
	if b == nil {
		return "disabled"
	}
	return b.cb.State().String()
}

// CallsRefused returns an error matching ErrCircuitOpen while the circuit
// breaker refuses every call, and nil otherwise: health checks report it.
func (b *Bridge) CallsRefused() error { return b.breaker.check() }
