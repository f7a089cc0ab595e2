package jsonlimit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		deep bool
	}{
		{"flat", `{"a":1}`, 1, false},
		{"at limit", nested(64), 64, false},
		{"over limit", nested(65), 64, true},
		{"brackets in strings do not count", `{"a":"[[[[[[\"[[["}`, 1, false},
		{"escaped backslash ends the string", `{"a":"\\"}`, 1, false},
		{"escaped backslash then bracket", `["\\",[[]]]`, 2, true},
		{"objects count", `{"a":{"b":{"c":{}}}}`, 3, true},
		{"unbalanced closers do not go negative", `]]]][[`, 2, false},
		{"deep attack", `{"name":"get_entities","arguments":{"search":` + nested(1000) + `}}`, 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), tc.max)
			if got := errors.Is(err, ErrTooDeep); got != tc.deep {
				t.Fatalf("Check(%.40q, %d) = %v; want too deep = %v", tc.in, tc.max, err, tc.deep)
			}
		})
	}
}

// FuzzCheck compares Check with the depth encoding/json sees on valid JSON.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `[[1,"]"]]`, `{"a":"\\\""}`, nested(10)} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 100 {
			return
		}
		err := Check(data, max)
		if !json.Valid(data) {
			return
		}
		if want := depthOf(t, data); (want > max) != (err != nil) {
			t.Fatalf("Check(%q, %d) = %v; the decoded depth is %d", data, max, err, want)
		}
	})
}

func depthOf(t *testing.T, data []byte) int {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Skip(err)
	}
	var walk func(any) int
	walk = func(v any) int {
		d := 0
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				d = max(d, walk(e))
			}
			return d + 1
		case map[string]any:
			for _, e := range v {
				d = max(d, walk(e))
			}
			return d + 1
		}
		return 0
	}
	return walk(v)
}
