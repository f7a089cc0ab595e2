package mcpconn

import (
	"os"
	"syscall"
	"time"
)

// Waiting actively for a fast child. When a call is the only one in flight
// and the child has lately answered within maxSpin, the call reading its
// answer polls the pipe for up to twice the recent answer time before it
// sleeps. A sleeping thread woken by the answer costs tens of microseconds
// on a small virtual machine, as much as a fast child's whole answer, and
// more CPU than the poll; a child that answers in milliseconds (any real
// Home Assistant call) is never waited for this way.

// maxSpin bounds one active wait.
const maxSpin = 200 * time.Microsecond

// pipeReader reads the child's stdout, polling first when spin is set. Only
// the goroutine holding the session's line reader uses it.
type pipeReader struct {
	f    *os.File
	rc   syscall.RawConn // nil: no polling
	spin time.Duration   // poll this long on the next Read, then sleep

	// One poll's state, for pollFn, bound once so that polling does not
	// allocate.
	buf      []byte
	n        int
	deadline time.Time
	pollFn   func(fd uintptr) bool
}

func newPipeReader(f *os.File) *pipeReader {
	r := &pipeReader{f: f}
	if rc, err := f.SyscallConn(); err == nil {
		r.rc = rc
	}
	r.pollFn = r.pollRead
	return r
}

func (r *pipeReader) Read(p []byte) (int, error) {
	if d := r.spin; d > 0 && r.rc != nil {
		r.spin = 0
		if n := r.poll(p, d); n > 0 {
			return n, nil
		}
	}
	return r.f.Read(p)
}

// poll reads into p without sleeping for up to d. It returns 0 when nothing
// came, or when the pipe ended or failed: f.Read then reports that.
func (r *pipeReader) poll(p []byte, d time.Duration) int {
	r.buf, r.n, r.deadline = p, 0, time.Now().Add(d)
	err := r.rc.Read(r.pollFn)
	n := r.n
	r.buf = nil
	if err != nil {
		return 0
	}
	return n
}

// pollRead is rc.Read's callback: it retries a non-blocking read until data
// comes or the deadline passes, and never asks rc.Read to sleep.
func (r *pipeReader) pollRead(fd uintptr) bool {
	for {
		m, err := syscall.Read(int(fd), r.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN && time.Now().Before(r.deadline):
			continue
		case err == nil && m > 0:
			r.n = m
		}
		return true
	}
}
