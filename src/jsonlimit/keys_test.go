package jsonlimit

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		in  string
		dup bool
	}{
		{`{"name":"call_service","name":"get_entities"}`, true},
		{`{"name":"a","na\u006de":"b"}`, true},
		{`{"a":{"x":1,"y":{"x":2}},"b":[{"x":1},{"x":2}]}`, false},
		{`{"a":{"x":1,"x":2}}`, true},
		{`[{"x":1},{"x":1,"x":1}]`, true},
		{`{"a":"b","b":"a"}`, false},
		{`{"a":[],"b":{},"c":null,"a":1}`, true},
		{`{"Name":1,"name":2}`, false}, // differently cased keys are distinct JSON keys
		{`{"a":1,`, false},             // syntax is the decoder's to report
		{`"a"`, false},
		{`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k3":0}`, true}, // past the listed keys
		{`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18}`, false},
		{"{\"\xff\":1,\"\xfe\":2}", true}, // both decode to U+FFFD, as encoding/json reads them
		{`{"a\"b":1,"a\u0022b":2}`, true},
		{`{"x":"}","y":"{","x\\":1}`, false},
	} {
		err := CheckKeys([]byte(tc.in))
		if got := errors.Is(err, ErrDuplicateKey); got != tc.dup {
			t.Errorf("CheckKeys(%s) = %v; want duplicate = %v", tc.in, err, tc.dup)
		}
		if got, want := ValidUnique([]byte(tc.in)), json.Valid([]byte(tc.in)) && !tc.dup; got != want {
			t.Errorf("ValidUnique(%s) = %v; want %v", tc.in, got, want)
		}
	}
}

// FuzzCheckKeys compares CheckKeys with a count of the keys encoding/json
// decodes: an object with duplicates decodes to fewer keys than it lists.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `[{"a":{"b":1}},{"a":1}]`, `{"a\u0062":1,"ab":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckKeys(data)
		if unique := ValidUnique(data); unique != (json.Valid(data) && err == nil) {
			t.Fatalf("ValidUnique(%q) = %v; CheckKeys: %v", data, unique, err)
		}
		if !json.Valid(data) || Check(data, 100) != nil {
			return
		}
		listed, distinct := countKeys(t, data)
		if (listed != distinct) != (err != nil) {
			t.Fatalf("CheckKeys(%q) = %v; %d keys listed, %d distinct", data, err, listed, distinct)
		}
	})
}

// countKeys returns how many keys data's objects list and how many distinct
// keys encoding/json keeps of them, over every object it decodes.
func countKeys(t *testing.T, data []byte) (listed, distinct int) {
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var obj map[string]json.RawMessage
		var list []json.RawMessage
		switch {
		case json.Unmarshal(raw, &obj) == nil && obj != nil:
			listed += topLevelKeys(t, raw)
			distinct += len(obj)
			for _, e := range obj {
				walk(e)
			}
		case json.Unmarshal(raw, &list) == nil:
			for _, e := range list {
				walk(e)
			}
		}
	}
	walk(data)
	return listed, distinct
}

// topLevelKeys counts the keys that the object raw lists itself.
func topLevelKeys(t *testing.T, raw json.RawMessage) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the key
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
