package mcpconn

import "time"

// Waiting actively for a fast child. When a call is the only one in flight
// and the child has lately answered within maxSpin, the call reading its
// answer polls the pipe (package pipepoll) for up to twice the recent
// answer time before it sleeps: waking a sleeping thread costs more, in
// latency and in CPU, on a small virtual machine. A child that answers in
// milliseconds (any real Home Assistant call) is never polled for.

// maxSpin bounds one active wait.
const maxSpin = 200 * time.Microsecond

// spinFor returns how long the reading call may poll for its answer: twice
// the recent answer time if that is under maxSpin and it is the only call
// in flight, else 0.
func (s *Session) spinFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) != 1 || s.answerTime <= 0 || s.answerTime >= maxSpin {
		return 0
	}
	return min(2*s.answerTime, maxSpin)
}
