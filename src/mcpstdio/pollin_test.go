package mcpstdio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// blockingPipe returns the descriptors of a new pipe's two ends, blocking,
// as a child process finds its stdin and stdout.
func blockingPipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

func nonblocking(t *testing.T, fd int) bool {
	t.Helper()
	flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if e != 0 {
		t.Fatal(e)
	}
	return flags&syscall.O_NONBLOCK != 0
}

// TestRawPipe: a pipe's ends become non-blocking rawPipes that carry more
// than the pipe holds in both directions at once (writes that find it
// full wait in the poller), report the end of input, and are left in
// blocking mode when closed.
func TestRawPipe(t *testing.T) {
	r, w := blockingPipe(t)
	pr, pw := newRawPipe(r, "r"), newRawPipe(w, "w")
	if pr == nil || pw == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	if !nonblocking(t, pr.fd) || !nonblocking(t, pw.fd) {
		t.Fatal("the pipe's ends are still blocking")
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, 16 pipe buffers
	wrote := make(chan error, 1)
	go func() {
		n, err := pw.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		if err == nil {
			err = pw.Close()
		}
		wrote <- err
	}()
	got, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	fd := pr.fd
	dup, err := syscall.Dup(fd) // shares the file description, and its mode
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)
	if err := pr.Close(); err != nil {
		t.Fatal(err)
	}
	if nonblocking(t, dup) {
		t.Error("Close left the description non-blocking")
	}
}

// TestRawPipeCloseEndsRead: a Read parked in the poller returns when the
// pipe is closed, with no writer in sight (a blocking read of stdin
// could not be stopped).
func TestRawPipeCloseEndsRead(t *testing.T) {
	r, w := blockingPipe(t)
	pr := newRawPipe(r, "r")
	defer syscall.Close(w)
	if pr == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	read := make(chan error, 1)
	go func() {
		_, err := pr.Read(make([]byte, 10))
		read <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it park
	pr.Close()
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5 s after Close")
	}
}

// TestRawPipeRefusesFiles: a regular file (and so a terminal's or a
// file's descriptor, whose mode other processes share) is left alone.
func TestRawPipeRefusesFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newRawPipe(int(f.Fd()), f.Name()); p != nil {
		t.Error("newRawPipe took a regular file")
	}
	if nonblocking(t, int(f.Fd())) {
		t.Error("the file was made non-blocking")
	}
}

// TestRawPipeRelease: stdout's rawPipe, released at the end of a session,
// is back in blocking mode and still writes.
func TestRawPipeRelease(t *testing.T) {
	r, w := blockingPipe(t)
	pw := newRawPipe(w, "w")
	defer pw.f.Close()
	rf := os.NewFile(uintptr(r), "r")
	defer rf.Close()
	if pw == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	if _, err := pw.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	pw.release()
	if nonblocking(t, pw.fd) {
		t.Error("release left the pipe non-blocking")
	}
	if _, err := pw.Write([]byte("after\n")); err != nil {
		t.Fatalf("write after release: %v", err)
	}
	buf := make([]byte, 64)
	n, err := rf.Read(buf)
	if err != nil || string(buf[:n]) != "before\nafter\n" {
		t.Errorf("read %q, %v", buf[:n], err)
	}
}

// pipeConn connects a Transport reading a rawPipe, as `stdio` reads its
// stdin, and returns it with the pipe's write end.
func pipeConn(t *testing.T, limit int) (mcp.Connection, *os.File) {
	t.Helper()
	r, w := blockingPipe(t)
	pr := newRawPipe(r, "r")
	if pr == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	wf := os.NewFile(uintptr(w), "w")
	c, err := (&Transport{Reader: pr, Writer: discard{}, MaxLineLength: limit}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.(*conn).inline == nil {
		t.Fatal("a rawPipe is not read inline")
	}
	t.Cleanup(func() {
		c.Close()
		wf.Close()
	})
	return c, wf
}

// TestInlineRead: messages read from a rawPipe on Read's goroutine are
// framed as go-sdk frames them: blank lines skipped, batches split, a
// value followed by more than a line end an error.
func TestInlineRead(t *testing.T) {
	c, w := pipeConn(t, 0)
	go w.WriteString(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n\n" +
		`[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]` + "\n" +
		`{"jsonrpc":"2.0","id":3,"method":"ping"} x` + "\n")
	for i, want := range []string{"ping", "ping", "notifications/initialized"} {
		msg, err := c.Read(context.Background())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if req, ok := msg.(*jsonrpc.Request); !ok || req.Method != want {
			t.Fatalf("message %d = %#v, want %s", i, msg, want)
		}
	}
	if _, err := c.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "trailing data") {
		t.Errorf("a value with trailing data: %v, want the trailing data error", err)
	}
}

// TestInlineReadEnds: a Read parked in the poller returns io.EOF when the
// connection is closed, and ctx's error when its ctx ends; a line over the
// bound is errFrameTooLarge; the end of input is io.EOF.
func TestInlineReadEnds(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		for range 20 {
			c, _ := pipeConn(t, 0)
			if err := readDuring(t, c, context.Background(), time.Millisecond, func() { c.Close() }); !errors.Is(err, io.EOF) {
				t.Fatalf("Read waiting at Close: %v, want io.EOF", err)
			}
		}
	})
	t.Run("ctx", func(t *testing.T) {
		c, _ := pipeConn(t, 0)
		ctx, cancel := context.WithCancel(context.Background())
		if err := readDuring(t, c, ctx, time.Millisecond, cancel); !errors.Is(err, context.Canceled) {
			t.Fatalf("Read whose ctx ended: %v, want context.Canceled", err)
		}
	})
	t.Run("eof", func(t *testing.T) {
		c, w := pipeConn(t, 0)
		if err := readDuring(t, c, context.Background(), time.Millisecond, func() { w.Close() }); !errors.Is(err, io.EOF) {
			t.Fatalf("Read at the end of input: %v, want io.EOF", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		c, w := pipeConn(t, 100)
		go w.WriteString(`{"jsonrpc":"2.0","id":1,"method":"x","params":"` + strings.Repeat("a", 200) + `"}` + "\n")
		if _, err := c.Read(context.Background()); !errors.Is(err, errFrameTooLarge) {
			t.Errorf("Read of a 250-byte line with a bound of 100: %v, want errFrameTooLarge", err)
		}
	})
}

// TestRawPipeReleaseDoesNotWait: releasing stdout while a write waits for
// a reader (the pipe full) returns at once; the write finishes once the
// reader reads, and leaves the pipe in blocking mode.
func TestRawPipeReleaseDoesNotWait(t *testing.T) {
	r, w := blockingPipe(t)
	pw := newRawPipe(w, "w")
	if pw == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	defer pw.f.Close()
	rf := os.NewFile(uintptr(r), "r")
	defer rf.Close()
	big := bytes.Repeat([]byte("x"), 1<<20) // more than the pipe holds
	wrote := make(chan error, 1)
	go func() {
		_, err := pw.Write(big)
		wrote <- err
	}()
	time.Sleep(50 * time.Millisecond) // the write waits in the poller
	released := make(chan struct{})
	go func() {
		pw.release()
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("release waited for a write that waits for a reader")
	}
	if !nonblocking(t, pw.fd) {
		t.Fatal("the mode changed under a raw write")
	}
	if _, err := io.CopyN(io.Discard, rf, int64(len(big))); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if nonblocking(t, pw.fd) {
		t.Error("the pipe is still non-blocking after the write that release waited for")
	}
	if _, err := pw.Write([]byte("after\n")); err != nil {
		t.Fatalf("write after release: %v", err)
	}
}

// TestSameDescription: a socket given as both stdin and stdout is one
// description, and no rawPipe is made of it; a pipe's two ends, as a
// child gets them, are not.
func TestSameDescription(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	dup, err := syscall.Dup(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)
	if !sameDescription(fds[0], dup) {
		t.Error("a socket and its duplicate are not one description")
	}
	r1, w1 := blockingPipe(t)
	r2, w2 := blockingPipe(t)
	for _, fd := range []int{r1, w1, r2, w2} {
		defer syscall.Close(fd)
	}
	if sameDescription(r1, w2) {
		t.Error("the read end of one pipe and the write end of another are one description")
	}
}

// TestStdinAfterClose: once stdin's rawPipe is closed, stdin reads fail
// instead of reading whatever file took its descriptor next.
func TestStdinAfterClose(t *testing.T) {
	r, w := blockingPipe(t)
	defer syscall.Close(w)
	pr := newRawPipe(r, "r")
	if pr == nil {
		t.Fatal("newRawPipe refused a pipe")
	}
	if got := stdinOf(pr); got != io.ReadCloser(pr) {
		t.Fatalf("stdinOf an open rawPipe = %T", got)
	}
	pr.Close()
	if _, err := stdinOf(pr).Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read of a closed stdin: %v, want os.ErrClosed", err)
	}
	if stdinOf(nil) != io.ReadCloser(os.Stdin) {
		t.Error("stdinOf(nil) is not os.Stdin")
	}
}
