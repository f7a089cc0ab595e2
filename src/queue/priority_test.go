package queue

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePriority(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Priority
		ok   bool
	}{
		{"CRITICAL", Critical, true},
		{"high", High, true},
		{"Medium", Medium, true},
		{" low ", Low, true},
		{"BULK", Bulk, true},
		{"0", Critical, true},
		{"4", Bulk, true},
		{"5", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"urgent", 0, false},
		{"HIGHEST", 0, false},
		{"1.0", 0, false},
	} {
		got, err := ParsePriority(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidPriority) {
			t.Errorf("ParsePriority(%q) error %v does not wrap ErrInvalidPriority", tt.in, err)
		}
	}
}

func TestPriorityString(t *testing.T) {
	for p, want := range map[Priority]string{Critical: "CRITICAL", Bulk: "BULK", 7: "Priority(7)", -1: "Priority(-1)"} {
		if got := p.String(); got != want {
			t.Errorf("Priority(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}

func TestPriorityText(t *testing.T) {
	for p := Critical; p <= Bulk; p++ {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", p, err)
		}
		var got Priority
		if err := got.UnmarshalText(b); err != nil || got != p {
			t.Errorf("UnmarshalText(%s) = %v, %v; want %v", b, got, err, p)
		}
	}
	if _, err := Priority(9).MarshalText(); err == nil {
		t.Error("Priority(9).MarshalText() = nil error")
	}
	var p Priority = High
	if err := p.UnmarshalText([]byte("nope")); err == nil || p != High {
		t.Errorf("UnmarshalText(nope) = %v, left %v; want an error, HIGH kept", err, p)
	}
}

func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{"CRITICAL", "bulk", "3", " 2 ", "", "x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePriority(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPriority) {
				t.Fatalf("error %v does not wrap ErrInvalidPriority", err)
			}
			if len(err.Error()) > 300 { // the input is cut to 32 bytes, at most 4 quoted bytes each
				t.Fatalf("error message too long: %d bytes", len(err.Error()))
			}
			return
		}
		if !p.valid() {
			t.Fatalf("ParsePriority(%q) = %d, out of range", s, int(p))
		}
		// A name or a number parses back to the same priority.
		if back, err := ParsePriority(strings.ToLower(p.String())); err != nil || back != p {
			t.Fatalf("round trip of %v = %v, %v", p, back, err)
		}
	})
}
