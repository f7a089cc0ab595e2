package simhome

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// respSupport is core.SupportsResponse.
type respSupport int

const (
	respNone respSupport = iota
	respOptional
	respOnly
)

// svcDef is one registered service: its description (services.yaml), its
// schema and what it does.
type svcDef struct {
	name         string
	description  string
	fields       []fieldDef
	entityDomain string // entities it acts on: a domain, "*" for any, "" for no target
	response     respSupport
	run          func(r *svcRun) *callError
}

// fieldDef is one service field: description and validation.
type fieldDef struct {
	key      string
	name     string
	desc     string
	required bool
	example  any
	selector map[string]any
}

// describe returns the get_services entry of the service.
func (d *svcDef) describe() map[string]any {
	fields := map[string]any{}
	for _, f := range d.fields {
		e := map[string]any{"name": f.name, "description": f.desc, "selector": f.selector}
		if f.required {
			e["required"] = true
		}
		if f.example != nil {
			e["example"] = f.example
		}
		fields[f.key] = e
	}
	out := map[string]any{"name": d.name, "description": d.description, "fields": fields}
	if d.entityDomain != "" {
		entity := map[string]any{}
		if d.entityDomain != "*" {
			entity["domain"] = []string{d.entityDomain}
		}
		out["target"] = map[string]any{"entity": []any{entity}}
	}
	if d.response != respNone {
		out["response"] = map[string]any{"optional": d.response == respOptional}
	}
	return out
}

// validate checks data against the service schema like voluptuous does
// (str(vol.Invalid) of the first error) and extracts the target.
func (d *svcDef) validate(data map[string]any) (targetSpec, *callError) {
	var t targetSpec
	var errs []string
	byKey := map[string]*fieldDef{}
	for i := range d.fields {
		f := &d.fields[i]
		byKey[f.key] = f
		if _, ok := data[f.key]; !ok && f.required {
			errs = append(errs, fmt.Sprintf("required key not provided @ data['%s']", f.key))
		}
	}
	for k, v := range data {
		if f, ok := byKey[k]; ok {
			if msg := f.check(v); msg != "" {
				errs = append(errs, fmt.Sprintf("%s for dictionary value @ data['%s']", msg, k))
			}
			continue
		}
		if d.entityDomain == "" || !t.set(k, v, &errs) {
			errs = append(errs, fmt.Sprintf("extra keys not allowed @ data['%s']", k))
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return t, &callError{code: errInvalidFormat, message: errs[0]}
	}
	return t, nil
}

// set stores one ENTITY_SERVICE_FIELDS key; it reports false for other keys.
func (t *targetSpec) set(key string, v any, errs *[]string) bool {
	var dst *[]string
	switch key {
	case "entity_id":
		ids, msg := entityIDList(v)
		if msg != "" {
			*errs = append(*errs, fmt.Sprintf("%s for dictionary value @ data['entity_id']", msg))
		}
		t.entityIDs = ids
		return true
	case "device_id":
		dst = &t.deviceIDs
	case "area_id":
		dst = &t.areaIDs
	case "floor_id":
		dst = &t.floorIDs
	case "label_id":
		dst = &t.labelIDs
	default:
		return false
	}
	ids, ok := stringList(v)
	if !ok {
		*errs = append(*errs, fmt.Sprintf("expected str for dictionary value @ data['%s']", key))
	}
	*dst = ids
	return true
}

// check validates one value against the field's selector and returns
// voluptuous' message, or "".
func (f *fieldDef) check(v any) string {
	for typ, cfg := range f.selector {
		opts, _ := cfg.(map[string]any)
		switch typ {
		case "number", "color_temp":
			return checkNumber(v, opts)
		case "boolean":
			if _, ok := boolValue(v); !ok {
				return "invalid boolean value " + pyReprOf(v)
			}
		case "text", "time", "datetime", "template":
			if _, ok := v.(string); !ok {
				return "expected str"
			}
		case "select":
			return checkSelect(v, opts)
		case "color_rgb":
			return checkRGB(v)
		case "entity":
			if _, msg := entityIDList(v); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func checkNumber(v any, opts map[string]any) string {
	n, ok := floatValue(v)
	if !ok {
		if isInt(opts) {
			return "expected int"
		}
		return "expected float"
	}
	if lo, ok := floatValue(opts["min"]); ok && n < lo {
		return "value must be at least " + pyNum(lo)
	}
	if hi, ok := floatValue(opts["max"]); ok && n > hi {
		return "value must be at most " + pyNum(hi)
	}
	return ""
}

// isInt reports whether a number selector takes whole numbers.
func isInt(opts map[string]any) bool {
	step, ok := floatValue(opts["step"])
	return !ok || step == float64(int64(step))
}

func checkSelect(v any, opts map[string]any) string {
	options, _ := opts["options"].([]string)
	s, ok := v.(string)
	if ok && slices.Contains(options, s) {
		return ""
	}
	quoted := make([]string, len(options))
	for i, o := range options {
		quoted[i] = pyStr(o)
	}
	return "value must be one of [" + strings.Join(quoted, ", ") + "]"
}

func checkRGB(v any) string {
	l, ok := v.([]any)
	if !ok || len(l) != 3 {
		return "expected a list of 3 integers"
	}
	for _, e := range l {
		n, ok := intValue(e)
		if !ok || n < 0 || n > 255 {
			return "expected a list of 3 integers"
		}
	}
	return ""
}

// boolValue is cv.boolean.
func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on", "enable":
			return true, true
		case "0", "false", "no", "off", "disable":
			return false, true
		}
	case json.Number:
		if i, ok := intValue(v); ok && (i == 0 || i == 1) {
			return i == 1, true
		}
	}
	return false, false
}

// pyNum formats a number like Python prints an int or a float.
func pyNum(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
