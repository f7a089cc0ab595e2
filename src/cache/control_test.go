package cache_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		in   string
		want cache.Control
		bad  bool
	}{
		{in: "", want: cache.Control{}},
		{in: "no-cache", want: cache.Control{NoCache: true}},
		{in: " No-Store , no-cache", want: cache.Control{NoCache: true, NoStore: true}},
		{in: "max-age=3600", want: cache.Control{MaxAge: time.Hour, HasMaxAge: true}},
		{in: `max-age="5", max-age=10`, want: cache.Control{MaxAge: 5 * time.Second, HasMaxAge: true}},
		{in: "max-age=0", want: cache.Control{NoCache: true, HasMaxAge: true}},
		{in: "private, max-age=1, stale-if-error=5", want: cache.Control{MaxAge: time.Second, HasMaxAge: true}},
		{in: "max-age=99999999999999", want: cache.Control{MaxAge: 100 * 365 * 24 * time.Hour, HasMaxAge: true}},
		{in: "max-age", bad: true},
		{in: "max-age=-1", bad: true},
		{in: "max-age=1.5", bad: true},
	}
	for _, tt := range tests {
		got, err := cache.ParseControl(tt.in)
		if tt.bad {
			if !errors.Is(err, cache.ErrBadControl) {
				t.Errorf("ParseControl(%q) error = %v; want ErrBadControl", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseControl(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseControl(f *testing.F) {
	for _, s := range []string{"", "no-cache", "max-age=60, no-store", "max-age=\"7\"", "MAX-AGE=0", ",,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := cache.ParseControl(in)
		if err != nil {
			if !errors.Is(err, cache.ErrBadControl) {
				t.Fatalf("error %v does not wrap ErrBadControl", err)
			}
			return
		}
		again, err := cache.ParseControl(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseControl(%q) = %+v; its String %q parses to %+v, %v", in, c, c.String(), again, err)
		}
	})
}
