package pipepoll

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// newPipe returns both ends of a pipe, closed at the end of the test.
func newPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestReaderPollsThenSleeps(t *testing.T) {
	r, w := newPipe(t)
	pr := NewReader(r)
	buf := make([]byte, 16)

	// Data already there: the poll takes it.
	w.Write([]byte("ab"))
	if n := pr.poll(buf, time.Millisecond); n != 2 || string(buf[:2]) != "ab" {
		t.Fatalf("poll = %d %q, want 2 \"ab\"", n, buf[:n])
	}
	// Nothing there: the poll gives up, and Read sleeps until data comes.
	if n := pr.poll(buf, 10*time.Microsecond); n != 0 {
		t.Fatalf("poll on an empty pipe = %d, want 0", n)
	}
	go w.Write([]byte("cd"))
	pr.PollNext(10 * time.Microsecond)
	if n, err := pr.Read(buf); err != nil || string(buf[:n]) != "cd" {
		t.Fatalf("Read = %q, %v; want \"cd\"", buf[:n], err)
	}
	if pr.next != 0 {
		t.Errorf("next = %v after a Read, want 0 (one poll per PollNext)", pr.next)
	}
	// A deadline reaches the caller as f.Read reports it.
	r.SetReadDeadline(time.Now())
	pr.PollNext(time.Millisecond)
	if _, err := pr.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	r.SetReadDeadline(time.Time{})
	// The end of the pipe too.
	w.Close()
	pr.PollNext(time.Millisecond)
	if _, err := pr.Read(buf); err != io.EOF {
		t.Errorf("Read at the end = %v, want io.EOF", err)
	}
}

// TestReaderOfRegularFile checks that a file that cannot be polled is
// read normally.
func TestReaderOfRegularFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("hello")
	f.Seek(0, io.SeekStart)
	pr := NewReader(f)
	pr.PollNext(time.Millisecond)
	data, err := io.ReadAll(pr)
	if err != nil || string(data) != "hello" {
		t.Errorf("ReadAll = %q, %v; want \"hello\"", data, err)
	}
}
