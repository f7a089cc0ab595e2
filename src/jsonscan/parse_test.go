package jsonscan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseObject: the decoder-free path decodes exactly as json.Decoder
// with UseNumber does.
func FuzzParseObject(f *testing.F) {
	f.Add(`{"a":[1,2.50,-3e2,true,null,{"b":"\u00e9\n"}],"a":"dup","é":"x","":{}}`)
	f.Add(`{ "entity_id" : "light.a" , "n" : 0 }`)
	f.Fuzz(func(t *testing.T, in string) {
		raw := []byte(in)
		if !json.Valid(raw) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var want map[string]any
		wantErr := dec.Decode(&want)
		got, ok := ParseObject(raw)
		if (wantErr == nil) != ok {
			t.Fatalf("ParseObject(%s) ok = %v, decoder error %v", in, ok, wantErr)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("ParseObject(%s) = %#v, want %#v", in, got, want)
		}
	})
}

// FuzzMembers: on a valid JSON object, Members yields its members as
// encoding/json reads them: the same keys, in order, with the same values.
func FuzzMembers(f *testing.F) {
	f.Add(`{"a":[1,{"b":"}"}],"c\"d":"x\\","":{},"e":null , "f" : -1.5e3}`)
	f.Add(`{}`)
	f.Add(`[1]`)
	f.Fuzz(func(t *testing.T, in string) {
		raw := []byte(in)
		if !json.Valid(raw) {
			Members(raw, func(_, _ []byte, _ int) bool { return true }) // never panics
			return
		}
		var want map[string]json.RawMessage
		isObject := json.Unmarshal(raw, &want) == nil
		var keys []string
		got := map[string]json.RawMessage{}
		ok := Members(raw, func(key, val []byte, start int) bool {
			var k string
			if err := json.Unmarshal(key, &k); err != nil {
				t.Fatalf("Members(%s): key %s: %v", in, key, err)
			}
			if string(raw[start:start+len(val)]) != string(val) {
				t.Fatalf("Members(%s): value %s not at offset %d", in, val, start)
			}
			keys = append(keys, k)
			got[k] = val
			return true
		})
		if ok != isObject {
			t.Fatalf("Members(%s) = %v; encoding/json reads an object: %v", in, ok, isObject)
		}
		if !ok {
			return
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(v), got[k]) {
				t.Errorf("Members(%s): %q = %s, want %s", in, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("Members(%s): keys %q, want those of %v", in, keys, want)
		}
	})
}

// FuzzElements: on a valid JSON array, Elements yields its elements as
// encoding/json reads them.
func FuzzElements(f *testing.F) {
	f.Add(`[1, "a,]", {"b":[2]} ,[],null]`)
	f.Add(`[]`)
	f.Add(`{"a":1}`)
	f.Fuzz(func(t *testing.T, in string) {
		raw := []byte(in)
		if !json.Valid(raw) {
			Elements(raw, func([]byte) bool { return true }) // never panics
			return
		}
		var want []json.RawMessage
		isArray := json.Unmarshal(raw, &want) == nil && want != nil
		var got [][]byte
		ok := Elements(raw, func(val []byte) bool {
			got = append(got, val)
			return true
		})
		if ok != isArray {
			t.Fatalf("Elements(%s) = %v; encoding/json reads an array: %v", in, ok, isArray)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("Elements(%s): %d elements, want %d", in, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(bytes.TrimSpace(want[i]), got[i]) {
				t.Errorf("Elements(%s)[%d] = %s, want %s", in, i, got[i], want[i])
			}
		}
	})
}
