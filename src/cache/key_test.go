package cache_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: ``, want: `{}`},
		{in: ` null `, want: `{}`},
		{in: `{}`, want: `{}`},
		{in: `{"b":2, "a":1}`, want: `{"a":1,"b":2}`},
		{in: "{\n\t\"a\" : { \"z\":[1, 2.50, {\"y\":1,\"x\":2}], \"c\":null }\n}", want: `{"a":{"c":null,"z":[1,2.50,{"x":2,"y":1}]}}`},
		{in: `{"n":1e3}`, want: `{"n":1e3}`},
		{in: `{"s":"caf\u00e9 <b>"}`, want: `{"s":"café \u003cb\u003e"}`},
		{in: `[1]`, bad: true},
		{in: `"x"`, bad: true},
		{in: `{"a":1}}`, bad: true},
		{in: `{"a":1} x`, bad: true},
		{in: `{"a":}`, bad: true},
	}
	for _, tt := range tests {
		got, _, err := cache.Canonical([]byte(tt.in))
		if tt.bad {
			if !errors.Is(err, cache.ErrBadArguments) {
				t.Errorf("Canonical(%q) error = %v; want ErrBadArguments", tt.in, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Canonical(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestKeyParts(t *testing.T) {
	a, _, _ := cache.Canonical([]byte(`{"domain":"light","state":"on"}`))
	b, _, _ := cache.Canonical([]byte(` { "state" : "on" , "domain" : "light" } `))
	tests := []struct {
		name string
		x, y string
		same bool
	}{
		{"order and space", cache.Key("get_entities", "", a), cache.Key("get_entities", "", b), true},
		{"profile", cache.Key("get_entities", "default", a), cache.Key("get_entities", "readonly", a), false},
		{"tool", cache.Key("get_entities", "", a), cache.Key("list_areas", "", a), false},
		{"no ambiguity", cache.Key("a\x00b", "", []byte("{}")), cache.Key("a", "b", []byte("{}")), false},
	}
	for _, tt := range tests {
		if got := tt.x == tt.y; got != tt.same {
			t.Errorf("%s: keys equal = %v; want %v", tt.name, got, tt.same)
		}
	}
}

// FuzzCanonical checks that the canonical form is a fixed point, valid
// JSON, and the same for a re-spaced, re-ordered spelling of the input.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":[1,{"d":2,"c":3}],"a":"x"}`, `{"entity_id":"light.kitchen"}`,
		`{"a":1.0e10,"b":null,"c":true}`, ` null`, `{"\u00e9":"\ud83d\ude00"}`, `{"a":{"a":{"a":[]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		canon, args, err := cache.Canonical(in)
		if err != nil {
			if !errors.Is(err, cache.ErrBadArguments) {
				t.Fatalf("error %v does not wrap ErrBadArguments", err)
			}
			return
		}
		if !json.Valid(canon) || canon[0] != '{' {
			t.Fatalf("Canonical(%q) = %q: not a JSON object", in, canon)
		}
		again, _, err := cache.Canonical(canon)
		if err != nil || !bytes.Equal(again, canon) {
			t.Fatalf("Canonical(Canonical(%q)) = %q, %v; want %q", in, again, err, canon)
		}
		if args == nil {
			return
		}
		var spaced bytes.Buffer
		if err := json.Indent(&spaced, canon, " ", "\t  "); err != nil {
			t.Fatal(err)
		}
		respaced, _, err := cache.Canonical(spaced.Bytes())
		if err != nil || !bytes.Equal(respaced, canon) {
			t.Fatalf("indented spelling gives %q, %v; want %q", respaced, err, canon)
		}
	})
}
