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

// stdin returns a reader of the standard input: a rawPipe if it is a
// pipe or a socket, else os.Stdin (a terminal or a file, whose mode its
// other users share).
func stdin() io.ReadCloser {
	if p := rawStdin(); p != nil && !p.closed.Load() {
		return p
	}
	return os.Stdin
}

// stdout returns a writer of the standard output, like stdin, and the
// function that ends its use: the rawPipe is put back in blocking mode;
// stdout itself is never closed.
func stdout() (io.WriteCloser, func()) {
	if p := rawStdout(); p != nil && !p.isReleased() {
		return nopCloser{p}, p.release
	}
	return nopCloser{os.Stdout}, func() {}
}

// The rawPipes of stdin and stdout are made once and kept for good: each
// is a second *os.File of its descriptor, which would close it when
// collected.
var (
	rawStdin  = sync.OnceValue(func() *rawPipe { return newRawPipe(int(os.Stdin.Fd()), os.Stdin.Name()) })
	rawStdout = sync.OnceValue(func() *rawPipe { return newRawPipe(int(os.Stdout.Fd()), os.Stdout.Name()) })
)

// rawPipe is a pipe or socket set non-blocking, read and written with raw
// system calls, waiting in the runtime's poller when it must. It is safe
// for concurrent use.
type rawPipe struct {
	f        *os.File
	rc       syscall.RawConn
	fd       int
	closed   atomic.Bool
	released bool // guarded by wmu: back in blocking mode, see release

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
	rc, err := nf.SyscallConn()
	if err != nil {
		syscall.SetNonblock(fd, false)
		return nil
	}
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
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p.rbuf[0])), uintptr(len(p.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			p.rn = int(n)
		default:
			p.rerr = e
		}
		return true
	}
}

func (p *rawPipe) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.released {
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
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p.wbuf[0])), uintptr(len(p.wbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			p.wn = int(n)
		default:
			p.werr = e
		}
		return true
	}
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

func (p *rawPipe) isReleased() bool {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.released
}

// release puts a pipe that is not to be closed (stdout) back in blocking
// mode, once the write under way, if any, is done; later writes are
// os.File's blocking ones.
func (p *rawPipe) release() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if !p.released {
		p.released = true
		syscall.SetNonblock(p.fd, false)
	}
}
