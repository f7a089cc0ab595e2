package pooltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"time"
)

// Event is one line of the child's events file.
type Event struct {
	// Kind is one of: "started" (process began), "initialized"
	// (notifications/initialized received), "grandchild" (Pid is the
	// grandchild's), "call" (a tools/call began; Tool is set), "start" and
	// "end" (the write tool's effect, around its sleep), "cancelled" (a
	// tool's ctx ended before it finished), "cancel_notification"
	// (notifications/cancelled received; RequestID and Reason are set),
	// "crash", "hang", "answered" (ask_name got its answer), "subscribed"
	// and "unsubscribed" (Note is the resource's uri).
	Kind      string    `json:"kind"`
	Pid       int       `json:"pid"`
	Tool      string    `json:"tool,omitempty"`
	EntityID  string    `json:"entity_id,omitempty"`
	Note      string    `json:"note,omitempty"`
	RequestID any       `json:"request_id,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
}

// recorder appends events to the file; safe for concurrent use.
type recorder struct {
	mu   sync.Mutex // serialises appends from this process
	path string
}

func (r *recorder) record(e Event) {
	if r.path == "" {
		return
	}
	if e.Pid == 0 {
		e.Pid = os.Getpid()
	}
	e.Time = time.Now()
	line, _ := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	// One write per line: O_APPEND keeps lines from different children whole.
	f.Write(append(line, '\n'))
}

// ReadEvents parses the events file at path; a missing file has no events.
// A torn last line (a child writing right now) is skipped.
func ReadEvents(path string) ([]Event, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var events []Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			events = append(events, e)
		}
	}
	return events, sc.Err()
}

// Pids returns the distinct pids of events of the given kind, in order of
// first appearance; Pids(events, "started") lists every child that ran.
func Pids(events []Event, kind string) []int {
	var pids []int
	seen := map[int]bool{}
	for _, e := range events {
		if e.Kind == kind && !seen[e.Pid] {
			seen[e.Pid] = true
			pids = append(pids, e.Pid)
		}
	}
	return pids
}

// Filter returns the events for which keep is true.
func Filter(events []Event, keep func(Event) bool) []Event {
	var out []Event
	for _, e := range events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}
