package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// describeType says in words what a configuration value of type t must be.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + plural(describeType(t.Elem()))
	case reflect.Map:
		return "a mapping of " + plural(describeType(t.Elem()))
	case reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func plural(s string) string {
	switch s {
	case "a string":
		return "strings"
	case "a whole number":
		return "whole numbers"
	case "true or false":
		return "booleans"
	}
	return strings.TrimPrefix(s, "a ")
}

// shorten quotes a user-supplied value for a message, cut to a sane length.
func shorten(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// describeJSONError explains why a file is not a JSON object.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.Is(err, io.EOF):
		return "empty file; want a JSON object of options"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: the file ends too early"
	}
	return "not a JSON object of options"
}

// normalizeLevel accepts log levels in any case ("INFO", as the seed design
// writes them) and keeps the Supervisor's spelling otherwise.
func normalizeLevel(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
