package mcpconn

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

func TestPipeReaderPollsThenSleeps(t *testing.T) {
	r, w := newPipe(t)
	pr := newPipeReader(r)
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
	pr.spin = 10 * time.Microsecond
	if n, err := pr.Read(buf); err != nil || string(buf[:n]) != "cd" {
		t.Fatalf("Read = %q, %v; want \"cd\"", buf[:n], err)
	}
	if pr.spin != 0 {
		t.Errorf("spin = %v after a Read, want 0 (one poll per setting)", pr.spin)
	}
	// A deadline reaches the caller through f.Read.
	r.SetReadDeadline(time.Now())
	pr.spin = time.Millisecond
	if _, err := pr.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	r.SetReadDeadline(time.Time{})
	// The end of the pipe too.
	w.Close()
	pr.spin = time.Millisecond
	if _, err := pr.Read(buf); err != io.EOF {
		t.Errorf("Read at the end = %v, want io.EOF", err)
	}
}

func TestSpinFor(t *testing.T) {
	tests := []struct {
		name    string
		pending int
		answer  time.Duration
		want    time.Duration
	}{
		{"fast child, one call", 1, 40 * time.Microsecond, 80 * time.Microsecond},
		{"capped", 1, 150 * time.Microsecond, maxSpin},
		{"slow child", 1, time.Millisecond, 0},
		{"no history", 1, 0, 0},
		{"several calls", 2, 40 * time.Microsecond, 0},
	}
	for _, tt := range tests {
		s := &Session{pending: map[int64]*pendingCall{}, answerTime: tt.answer}
		for i := range tt.pending {
			s.pending[int64(i)] = &pendingCall{}
		}
		if got := s.spinFor(); got != tt.want {
			t.Errorf("%s: spinFor = %v, want %v", tt.name, got, tt.want)
		}
	}
}
