package mcphttp

import (
	"testing"
)

// TestNotifyQueue delivers in order, never makes the pusher wait (a full
// queue drops), and takes nothing once finished.
func TestNotifyQueue(t *testing.T) {
	q := newNotifyQueue(2)
	release := make(chan struct{})
	started := make(chan struct{})
	var got []int
	q.push(func() { close(started); <-release }) // a client that does not read
	<-started
	for i := range 3 {
		if ok := q.push(func() { got = append(got, i) }); ok != (i < 2) {
			t.Errorf("push %d = %v; want %v (queue of 2 behind a stuck delivery)", i, ok, i < 2)
		}
	}
	close(release)
	q.finish()
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("delivered %v; want [0 1] in order", got)
	}
	if q.push(func() {}) {
		t.Error("a finished queue took a message")
	}
	q.finish() // twice is fine
}
