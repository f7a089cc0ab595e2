package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBadArguments: the arguments are not a JSON object.
var ErrBadArguments = errors.New("cache: arguments must be a JSON object")

// Canonical returns raw's canonical form and its decoded value: a JSON
// object with keys sorted at every level, numbers kept as written and no
// insignificant space, so that two spellings of the same arguments share a
// key. Absent, empty or null arguments are {}. Anything else than one JSON
// object wraps ErrBadArguments.
func Canonical(raw []byte) ([]byte, map[string]any, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return []byte("{}"), nil, nil
	}
	if trimmed[0] != '{' {
		return nil, nil, ErrBadArguments
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var args map[string]any
	if err := dec.Decode(&args); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadArguments, err)
	}
	if dec.InputOffset() != int64(len(trimmed)) {
		return nil, nil, fmt.Errorf("%w: unexpected data after the object", ErrBadArguments)
	}
	canon, err := json.Marshal(args) // encoding/json sorts map keys
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadArguments, err)
	}
	return canon, args, nil
}

// Key returns the cache key of a call: the tool, the exposure profile that
// shapes its answer, and the canonical arguments. Keys are compared whole
// (no hash collisions in L1); L2 hashes them.
func Key(tool, profile string, canonical []byte) string {
	b := make([]byte, 0, len(tool)+len(profile)+len(canonical)+2)
	b = append(b, tool...)
	b = append(b, 0)
	b = append(b, profile...)
	b = append(b, 0)
	b = append(b, canonical...)
	return string(b)
}
