package queue

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Priority orders jobs: Critical is served first, Bulk last. The zero value
// is Critical.
type Priority int

// Priorities, most urgent first.
const (
	Critical Priority = iota // monitoring reads that must not wait
	High                     // interactive reads
	Medium                   // simple writes
	Low                      // complex writes
	Bulk                     // heavy requests such as history

	numPriorities = int(Bulk) + 1
)

// ErrInvalidPriority reports a priority that ParsePriority does not know.
var ErrInvalidPriority = errors.New("queue: invalid priority")

var priorityNames = [numPriorities]string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "BULK"}

// ParsePriority parses a priority name ("CRITICAL", "HIGH", "MEDIUM", "LOW",
// "BULK", in any case) or its number ("0" to "4"). Surrounding spaces are
// ignored.
func ParsePriority(s string) (Priority, error) {
	t := strings.TrimSpace(s)
	for i, name := range priorityNames {
		if strings.EqualFold(t, name) {
			return Priority(i), nil
		}
	}
	if n, err := strconv.Atoi(t); err == nil && n >= 0 && n < numPriorities {
		return Priority(n), nil
	}
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return 0, fmt.Errorf("%w %q: want CRITICAL, HIGH, MEDIUM, LOW, BULK or 0-4", ErrInvalidPriority, s)
}

// String returns the priority's name, such as "HIGH", or "Priority(7)" for a
// value out of range.
func (p Priority) String() string {
	if p.valid() {
		return priorityNames[p]
	}
	return "Priority(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText encodes the priority as its name.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidPriority, int(p))
	}
	return []byte(priorityNames[p]), nil
}

// UnmarshalText decodes what ParsePriority accepts.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func (p Priority) valid() bool { return p >= Critical && p <= Bulk }
