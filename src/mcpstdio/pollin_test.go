package mcpstdio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
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
