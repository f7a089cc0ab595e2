package mcpconn

import "time"

// Close stops the child in the MCP specification's order: close its stdin,
// wait up to StopTimeout for it to exit, send SIGTERM to its process group,
// wait again, then SIGKILL. The child is reaped and every goroutine of the
// session has returned when Close returns. Calls still pending fail with
// ErrSessionLost; answers the child wrote before exiting are delivered
// first. Close is idempotent; later calls return the first result.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.w.shutdown()
		step, err := s.proc.stop(s.cfg.StopTimeout)
		s.stopStep, s.closeErr = step, err
		ev := s.log.Debug()
		if step != "stdin" {
			ev = s.log.Warn()
		}
		ev.Str("by", step).Stringer("state", s.ProcessState()).Msg("child stopped")
		s.finishReaders()
		s.connLost(errClosed)
		if err != nil { // unkillable child: its waiter may never return
			return
		}
		s.wg.Wait()
	})
	return s.closeErr
}

// StoppedBy reports which step of the stop order ended the child: "stdin",
// "SIGTERM" or "SIGKILL"; "" before Close finished. A child that exited on
// its own before Close reports "stdin".
func (s *Session) StoppedBy() string {
	select {
	case <-s.closing:
	default:
		return ""
	}
	s.closeOnce.Do(func() {}) // wait for a running Close
	return s.stopStep
}

// finishReaders waits for stdout and stderr to reach EOF, which they do once
// the child's process group is gone. Something outside the group may still
// hold them open; after StopTimeout our ends are closed to unblock the
// readers.
func (s *Session) finishReaders() {
	ch := make(chan struct{})
	go func() {
		s.rwg.Wait()
		close(ch)
	}()
	t := time.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		s.log.Warn().Msg("child output still open after stop; closing it")
		closeAll(s.proc.stdout, s.proc.stderr)
		<-ch
	}
	closeAll(s.proc.stdout, s.proc.stderr)
}
