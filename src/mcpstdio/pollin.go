package mcpstdio

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Reading stdin and writing stdout without waking the runtime's monitor.
// A Go program's os.Stdin is a blocking file: its reader waits inside a
// read system call, and the runtime's monitor thread, which takes a
// processor back from a thread in a system call, then runs every 20 µs.
// Every other system call made through package syscall also wakes the
// monitor when it sleeps, and it then runs every 20 µs for a millisecond
// at least: a child answering a fast call every few hundred microseconds
// kept it awake for good, a fifth of the child's CPU. A pipe or socket in
// non-blocking mode can be read through the runtime's poller instead (the
// goroutine parks, no thread waits in the kernel for it, and a read
// parked there ends when the file is closed), and read and written with
// raw system calls, which never block and do not tell the monitor.
//
// The mode belongs to the file description, which other processes that
// inherited it share: it is set only on pipes and sockets (a child's
// stdin and stdout, which its parent made for it), never when stdin and
// stdout are one description (a socket given as both, by inetd or socat:
// closing stdin would make it blocking under stdout's raw writes), and
// put back when the session ends. A process killed meanwhile leaves it
// non-blocking.

// stdin returns a reader of the standard input: a rawPipe if it is a
// pipe or a socket, else os.Stdin (a terminal or a file, whose mode its
// other users share). Once the rawPipe is closed, the descriptor is gone:
// reads fail, as they did on os.Stdin once it was closed.
func stdin() io.ReadCloser { return stdinOf(rawStdio().in) }

func stdinOf(p *rawPipe) io.ReadCloser {
	switch {
	case p == nil:
		return os.Stdin
	case p.closed.Load():
		return closedInput{}
	}
	return p
}

// stdout returns a writer of the standard output, like stdin, and the
// function that ends its use: the rawPipe is put back in blocking mode;
// stdout itself is never closed.
func stdout() (io.WriteCloser, func()) {
	if p := rawStdio().out; p != nil && !p.releaseAsked.Load() {
		return nopCloser{p}, p.release
	}
	return nopCloser{os.Stdout}, func() {}
}

// closedInput is stdin after its rawPipe was closed.
type closedInput struct{}

func (closedInput) Read([]byte) (int, error) {
	return 0, &os.PathError{Op: "read", Path: os.Stdin.Name(), Err: os.ErrClosed}
}
func (closedInput) Close() error { return nil }

// rawStdio returns the rawPipes of stdin and stdout, nil for either that
// is not to be one. They are made once and kept for good: each is a
// second *os.File of its descriptor, which would close it when collected.
var rawStdio = sync.OnceValue(func() (p struct{ in, out *rawPipe }) {
	in, out := int(os.Stdin.Fd()), int(os.Stdout.Fd())
	if sameDescription(in, out) {
		return p
	}
	p.in = newRawPipe(in, os.Stdin.Name())
	p.out = newRawPipe(out, os.Stdout.Name())
	return p
})

// sameDescription reports whether descriptors a and b may be one file
// description: the same file (a socket or a pipe given as both), or one
// that cannot be told.
func sameDescription(a, b int) bool {
	var sa, sb syscall.Stat_t
	if syscall.Fstat(a, &sa) != nil || syscall.Fstat(b, &sb) != nil {
		return true
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// rawPipe is a pipe or socket set non-blocking, read and written with raw
// system calls, waiting in the runtime's poller when it must. It is safe
// for concurrent use.
type rawPipe struct {
	f            *os.File
	rc           syscall.RawConn
	fd           int
	closed       atomic.Bool
	released     bool        // guarded by wmu: back in blocking mode, see release
	releaseAsked atomic.Bool // release was called

	// The current Read's and Write's state, for their callbacks, bound
	// once so that they do not allocate.
	rmu, wmu   sync.Mutex // one Read, one Write at a time
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr syscall.Errno
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// newRawPipe returns descriptor fd as a rawPipe, or nil if it is not a
// pipe or a socket or cannot be made non-blocking.
func newRawPipe(fd int, name string) *rawPipe {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil
	}
	if m := st.Mode & syscall.S_IFMT; m != syscall.S_IFIFO && m != syscall.S_IFSOCK {
		return nil
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		return nil
	}
	// NewFile sees the descriptor non-blocking and registers it with the
	// poller.
	nf := os.NewFile(uintptr(fd), name)
	rc, _ := nf.SyscallConn() // fails only for a nil file
	p := &rawPipe{f: nf, rc: rc, fd: fd}
	p.readFn, p.writeFn = p.rawRead, p.rawWrite
	return p
}

func (p *rawPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	p.rbuf, p.rn, p.rerr = b, 0, 0
	err := p.rc.Read(p.readFn)
	n, errno := p.rn, p.rerr
	p.rbuf = nil
	switch {
	case err != nil:
		return 0, p.wrapErr("read", err)
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: p.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// rawRead is Read's callback: false asks the poller to wait until the
// pipe is readable.
func (p *rawPipe) rawRead(fd uintptr) bool {
	var done bool
	p.rn, p.rerr, done = rawCall(syscall.SYS_READ, fd, p.rbuf)
	return done
}

// rawCall makes the read or write system call trap on fd with buf,
// without telling the runtime, again while it is interrupted. done is
// false when it would block.
func rawCall(trap, fd uintptr, buf []byte) (n int, errno syscall.Errno, done bool) {
	for {
		r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, false
		case 0:
			return int(r), 0, true
		}
		return 0, e, true
	}
}

func (p *rawPipe) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.unlockWrite()
	if p.releaseAsked.Load() {
		p.restoreLocked()
		return p.f.Write(b) // a blocking write now
	}
	written := 0
	for written < len(b) {
		p.wbuf, p.wn, p.werr = b[written:], 0, 0
		err := p.rc.Write(p.writeFn)
		n, errno := p.wn, p.werr
		p.wbuf = nil
		written += n
		switch {
		case err != nil:
			return written, p.wrapErr("write", err)
		case errno != 0:
			return written, &os.PathError{Op: "write", Path: p.f.Name(), Err: errno}
		}
	}
	return written, nil
}

// rawWrite is Write's callback: it writes what the pipe takes; false asks
// the poller to wait until the pipe is writable.
func (p *rawPipe) rawWrite(fd uintptr) bool {
	var done bool
	p.wn, p.werr, done = rawCall(syscall.SYS_WRITE, fd, p.wbuf)
	return done
}

// wrapErr returns the poller's error err as os.File's methods do: closing
// the file is os.ErrClosed.
func (p *rawPipe) wrapErr(op string, err error) error {
	if p.closed.Load() {
		err = os.ErrClosed
	}
	return &os.PathError{Op: op, Path: p.f.Name(), Err: err}
}

// Close closes the pipe, and leaves its file description in blocking
// mode, as it was given: an inherited description may outlive this
// process in another (a shell that ran it, say). The mode is restored
// through a duplicate once the file is closed, when no Read or Write can
// be in a raw system call that the blocking mode would hold up.
func (p *rawPipe) Close() error {
	p.closed.Store(true)
	dup, derr := syscall.Dup(p.fd)
	err := p.f.Close()
	if derr == nil {
		syscall.SetNonblock(dup, false)
		syscall.Close(dup)
	}
	return err
}

// release puts a pipe that is not to be closed (stdout) back in blocking
// mode, now if no write is under way, else once it is done (the write
// may wait for a reader that never comes: release does not wait for it);
// later writes are os.File's blocking ones.
func (p *rawPipe) release() {
	p.releaseAsked.Store(true)
	if p.wmu.TryLock() {
		p.restoreLocked()
		p.wmu.Unlock()
	}
	// Else the writer holding wmu sees releaseAsked once it has unlocked
	// (unlockWrite).
}

// unlockWrite ends a Write: it unlocks wmu and restores the blocking mode
// if release was called meanwhile and found wmu held.
func (p *rawPipe) unlockWrite() {
	p.wmu.Unlock()
	if p.releaseAsked.Load() && p.wmu.TryLock() {
		p.restoreLocked()
		p.wmu.Unlock()
	}
}

// restoreLocked puts the pipe back in blocking mode, once; wmu is held.
func (p *rawPipe) restoreLocked() {
	if !p.released {
		p.released = true
		syscall.SetNonblock(p.fd, false)
	}
}
