// Package pipepoll reads a pipe, polling it for a short while before
// sleeping when asked to.
//
// Waking a thread that sleeps on a pipe costs tens of microseconds on a
// small virtual machine (page-table isolation, halted virtual CPUs), as
// much as a fast peer process's whole answer, and more CPU than polling
// for it. A reader that expects an answer within microseconds polls; one
// that does not, sleeps as usual.
package pipepoll

import (
	"os"
	"syscall"
	"time"
)

// Reader reads f. Its zero value is not usable; create it with NewReader.
// It is not safe for concurrent use.
type Reader struct {
	f    *os.File
	rc   syscall.RawConn // nil: f cannot be polled, Read only sleeps
	next time.Duration   // poll this long on the next Read

	// One poll's state, for pollFn, bound once so that polling does not
	// allocate.
	buf      []byte
	n        int
	deadline time.Time
	pollFn   func(fd uintptr) bool
}

// NewReader returns a Reader of f, which should be a pipe's read end from
// os.Pipe (non-blocking): another file is read normally.
func NewReader(f *os.File) *Reader {
	r := &Reader{f: f}
	if rc, err := f.SyscallConn(); err == nil {
		r.rc = rc
	}
	r.pollFn = r.pollRead
	return r
}

// PollNext makes the next Read poll for up to d before it sleeps; 0
// cancels a poll not yet done.
func (r *Reader) PollNext(d time.Duration) { r.next = d }

// Read reads like f.Read, polling first if PollNext asked for it. Errors,
// deadlines and the end of the file are f.Read's.
func (r *Reader) Read(p []byte) (int, error) {
	if d := r.next; d > 0 && r.rc != nil && len(p) > 0 {
		r.next = 0
		if n := r.poll(p, d); n > 0 {
			return n, nil
		}
	}
	return r.f.Read(p)
}

// poll reads into p without sleeping for up to d. It returns 0 when nothing
// came, or when the pipe ended or failed: f.Read then reports that.
func (r *Reader) poll(p []byte, d time.Duration) int {
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
func (r *Reader) pollRead(fd uintptr) bool {
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
