package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// param is one property of a tool's input schema, with the hint that error
// messages give when a value does not fit.
type param struct {
	name     string
	schema   *jsonschema.Schema
	required bool
	hint     string // "an integer from 1 to 1000"; what is allowed
}

func strParam(name, desc, hint string, examples ...any) param {
	return param{name: name, hint: hint, schema: &jsonschema.Schema{Type: "string", Description: desc, Examples: examples}}
}

func enumParam(name, desc string, values ...string) param {
	enum := make([]any, len(values))
	for i, v := range values {
		enum[i] = v
	}
	return param{name: name, hint: "one of " + strings.Join(values, ", "),
		schema: &jsonschema.Schema{Type: "string", Description: desc, Enum: enum}}
}

func intParam(name, desc string, minimum, maximum, def int) param {
	lo, hi := float64(minimum), float64(maximum)
	s := &jsonschema.Schema{Type: "integer", Description: desc, Minimum: &lo, Maximum: &hi}
	if def != 0 {
		s.Default = json.RawMessage(fmt.Sprint(def))
	}
	return param{name: name, schema: s, hint: fmt.Sprintf("an integer from %d to %d", minimum, maximum)}
}

func boolParam(name, desc string) param {
	return param{name: name, hint: "true or false", schema: &jsonschema.Schema{Type: "boolean", Description: desc}}
}

func objParam(name, desc string, examples ...any) param {
	return param{name: name, hint: "a JSON object", schema: &jsonschema.Schema{Type: "object", Description: desc, Examples: examples}}
}

// entityIDsParam is an entity id or a list of them.
func entityIDsParam(name, desc string) param {
	return param{name: name, hint: `an entity id like "light.kitchen" or a list of them`,
		schema: &jsonschema.Schema{Description: desc, AnyOf: []*jsonschema.Schema{
			{Type: "string", Examples: []any{"light.kitchen"}},
			{Type: "array", Items: &jsonschema.Schema{Type: "string"}, Examples: []any{[]any{"light.kitchen", "light.hall"}}},
		}}}
}

func (p param) req() param { p.required = true; return p }

// inputSchema is a tool's input: the JSON schema announced to clients and
// the per-argument checks behind the friendly error messages.
type inputSchema struct {
	schema   *jsonschema.Schema
	params   []param
	resolved map[string]*jsonschema.Resolved
}

// newInput builds an object schema that refuses unknown arguments.
func newInput(params ...param) *inputSchema {
	s := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}}}
	in := &inputSchema{schema: s, params: params, resolved: map[string]*jsonschema.Resolved{}}
	for _, p := range params {
		s.Properties[p.name] = p.schema
		s.PropertyOrder = append(s.PropertyOrder, p.name)
		if p.required {
			s.Required = append(s.Required, p.name)
		}
		r, err := p.schema.Resolve(nil)
		if err != nil {
			panic(fmt.Sprintf("tools: schema of %q: %v", p.name, err)) // a programming error
		}
		in.resolved[p.name] = r
	}
	return in
}

// decode checks raw arguments against the schema, with messages that name
// the argument and say what is allowed, then decodes them into dst.
func (in *inputSchema) decode(raw json.RawMessage, dst any) error {
	args := map[string]any{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		if t[0] != '{' {
			return &argError{msg: "arguments must be a JSON object"}
		}
		if err := json.Unmarshal(t, &args); err != nil {
			return &argError{msg: "arguments are not valid JSON: " + err.Error()}
		}
	}
	if err := in.check(args); err != nil {
		return err
	}
	b, err := json.Marshal(args)
	if err != nil {
		return &argError{msg: err.Error()}
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return &argError{msg: "arguments do not fit: " + err.Error()}
	}
	return nil
}

func (in *inputSchema) check(args map[string]any) error {
	names := make([]string, 0, len(in.params))
	for _, p := range in.params {
		names = append(names, p.name)
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			return &argError{msg: fmt.Sprintf("unknown argument %q; allowed arguments: %s", k, strings.Join(names, ", "))}
		}
	}
	for _, p := range in.params {
		v, ok := args[p.name]
		if !ok {
			if p.required {
				return &argError{arg: p.name, msg: "is required: " + p.hint}
			}
			continue
		}
		if err := in.resolved[p.name].Validate(v); err != nil {
			return &argError{arg: p.name, msg: fmt.Sprintf("must be %s, got %s", p.hint, describeValue(v))}
		}
	}
	return nil
}

// describeValue shows a bad argument value briefly.
func describeValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonKind(v)
	}
	return truncate(string(b), 80)
}

// argError is a bad argument: the message names the argument and what is
// allowed, and reaches the model as a tool error.
type argError struct {
	arg string // "" for the arguments as a whole
	msg string
}

func (e *argError) Error() string {
	if e.arg == "" {
		return "invalid arguments: " + e.msg
	}
	return fmt.Sprintf("invalid argument %q: %s", e.arg, e.msg)
}

func badArg(arg, format string, args ...any) error {
	return &argError{arg: arg, msg: fmt.Sprintf(format, args...)}
}
