package bridge

import (
	"context"
	"time"
)

// DefaultStopGrace is Config.StopGrace's default: with the HTTP server's
// and the pool's own steps it keeps a stop within the Supervisor's default
// 10 s.
const DefaultStopGrace = 5 * time.Second

// StopError is the error of a call that was still running when the bridge
// stopped and its StopGrace ran out. It matches ErrClosed, and
// ErrOutcomeUnknown too for a write that had started.
type StopError struct {
	Write   bool // the call is a write
	Started bool // the write had started running
}

// Message says what happened, for the client.
func (e *StopError) Message() string {
	if e.OutcomeUnknown() {
		return "the bridge is shutting down and could not wait for this write to finish; " +
			"it was sent and may or may not have been applied: check the state before repeating it"
	}
	return "the bridge is shutting down; the call was stopped before it completed"
}

// OutcomeUnknown reports whether a write may have been applied.
func (e *StopError) OutcomeUnknown() bool { return e.Write && e.Started }

func (e *StopError) Error() string { return "bridge: " + e.Message() }

// Is matches ErrClosed, and ErrOutcomeUnknown for a write that started.
func (e *StopError) Is(target error) bool {
	return target == ErrClosed || target == ErrOutcomeUnknown && e.OutcomeUnknown()
}

// abortAfterGrace waits for ctx to end, then gives the running calls
// Config.StopGrace to finish before aborting them: their callers are
// answered at once (StopError) and their executions cancelled, so that
// every client gets an answer and the process stops in bounded time even
// when Home Assistant hangs. It returns early once queueDone is closed.
func (b *Bridge) abortAfterGrace(ctx context.Context, queueDone <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-queueDone:
		return
	}
	t := time.NewTimer(b.cfg.StopGrace)
	defer t.Stop()
	select {
	case <-t.C:
		b.log.Warn().Dur("grace", b.cfg.StopGrace).Msg("stopping: aborting the calls still running")
		b.abort()
	case <-queueDone:
	}
}

// withAbort returns ctx, also cancelled when the bridge aborts its calls.
func (b *Bridge) withAbort(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if b.aborted == nil {
		return ctx, cancel
	}
	stop := context.AfterFunc(b.aborted, cancel)
	return ctx, func() { stop(); cancel() }
}

// abortedError is the error of a call ended by the abort, or nil when the
// bridge has not aborted.
func (b *Bridge) abortedError(p plan, started bool) error {
	if b.aborted == nil || b.aborted.Err() == nil {
		return nil
	}
	return &StopError{Write: p.kind == KindWrite, Started: started}
}
