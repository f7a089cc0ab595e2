package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
)

// defaultOptionsPath is where the Supervisor writes the add-on options.
const defaultOptionsPath = "/data/options.json"

// maxConfigBytes bounds the options and YAML files: both are a few hundred
// bytes in practice, and reading must not be a way to exhaust memory.
const maxConfigBytes = 1 << 20

// addonOptions are the add-on options, as the Supervisor writes them to
// /data/options.json. Optional keys the user left unset are absent, hence
// the pointers and nil slices. Every field must also be in config.yaml's
// options/schema, both translations and DOCS.md (manifest_test.go checks).
type addonOptions struct {
	LogLevel        *string  `json:"log_level"`
	LogFormat       *string  `json:"log_format"`
	APIToken        *string  `json:"api_token"`
	ReadOnly        *bool    `json:"read_only"`
	AllowedDomains  []string `json:"allowed_domains"`
	BlockedEntities []string `json:"blocked_entities"`
	ConfirmServices []string `json:"confirm_services"`

	QueueMaxSize          *int `json:"queue_max_size"`
	PoolMinSessions       *int `json:"pool_min_sessions"`
	PoolMaxSessions       *int `json:"pool_max_sessions"`
	RequestTimeoutSeconds *int `json:"request_timeout_seconds"`
	RateLimitPerSecond    *int `json:"rate_limit_per_second"` // 0 turns the rate limit off
}

// readOptions reads the add-on options file. A missing file yields no
// options and found == false. Each key is decoded on its own so that one
// wrong value is reported by name without hiding the others; unknown keys
// (an option removed in a newer version) are returned as warnings.
func readOptions(path string) (opts addonOptions, found bool, warnings []string, err error) {
	data, err := readLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return opts, false, nil, nil
	}
	if err != nil {
		return opts, false, nil, err
	}
	opts, warnings, err = parseOptions(path, data)
	return opts, true, warnings, err
}

// parseOptions decodes the options file's content; path only names it in
// messages.
func parseOptions(path string, data []byte) (addonOptions, []string, error) {
	var opts addonOptions
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return opts, nil, fmt.Errorf("%s: %s", path, describeJSONError(err))
	}
	if dec.More() {
		return opts, nil, fmt.Errorf("%s: unexpected data after the JSON object", path)
	}
	fields := optionFields(&opts)
	var errs []error
	var warnings []string
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		dst, ok := fields[key]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("%s: ignoring unknown option %q", path, key))
			continue
		}
		if err := json.Unmarshal(raw[key], dst); err != nil {
			reflect.ValueOf(dst).Elem().SetZero() // a half-decoded value must not be applied
			value := rawValue(raw[key])
			if key == "api_token" {
				value = "the value" // a secret, even when mistyped
			}
			errs = append(errs, fmt.Errorf("%s: %s: %s is not %s", path, key, value, describeType(reflect.TypeOf(dst).Elem())))
		}
	}
	return opts, warnings, errors.Join(errs...)
}

// rawValue shows a JSON value as written, cut to a sane length.
func rawValue(v json.RawMessage) string {
	const max = 60
	if len(v) > max {
		return string(v[:max]) + "..."
	}
	return string(v)
}

// optionFields maps each json tag of addonOptions to a pointer to the field.
func optionFields(opts *addonOptions) map[string]any {
	v := reflect.ValueOf(opts).Elem()
	m := make(map[string]any, v.NumField())
	for i := range v.NumField() {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		m[tag] = v.Field(i).Addr().Interface()
	}
	return m
}

// apply overlays the options that are present onto c; source names the file.
func (o addonOptions) apply(c *Config, source string) {
	set := func(key, option string) { c.setOrigin(key, source+": "+option) }
	if o.LogLevel != nil {
		c.Logging.Level = normalizeLevel(*o.LogLevel)
		set("logging.level", "log_level")
	}
	if o.LogFormat != nil {
		c.Logging.Format = *o.LogFormat
		set("logging.format", "log_format")
	}
	if o.APIToken != nil {
		c.Bridge.APIToken = *o.APIToken
		set("bridge.api_token", "api_token")
	}
	if o.ReadOnly != nil {
		c.Tools.ReadOnly = *o.ReadOnly
		set("tools.read_only", "read_only")
	}
	if o.AllowedDomains != nil {
		c.Tools.AllowedDomains = slices.Clone(o.AllowedDomains)
		set("tools.allowed_domains", "allowed_domains")
	}
	if o.BlockedEntities != nil {
		c.Tools.BlockedEntities = slices.Clone(o.BlockedEntities)
		set("tools.blocked_entities", "blocked_entities")
	}
	if o.ConfirmServices != nil {
		c.Tools.ConfirmServices = slices.Clone(o.ConfirmServices)
		set("tools.confirm_services", "confirm_services")
	}
	o.applyLimits(c, set)
}

// applyLimits overlays the queue, pool and rate limit options.
func (o addonOptions) applyLimits(c *Config, set func(key, option string)) {
	intOption := func(v *int, dst *int, key, option string) {
		if v != nil {
			*dst = *v
			set(key, option)
		}
	}
	intOption(o.QueueMaxSize, &c.Queue.MaxSize, "queue.max_size", "queue_max_size")
	intOption(o.PoolMinSessions, &c.SessionPool.MinConnections, "session_pool.min_connections", "pool_min_sessions")
	intOption(o.PoolMaxSessions, &c.SessionPool.MaxConnections, "session_pool.max_connections", "pool_max_sessions")
	intOption(o.RequestTimeoutSeconds, &c.Queue.TimeoutSeconds, "queue.timeout_seconds", "request_timeout_seconds")
	if v := o.RateLimitPerSecond; v != nil {
		// 0 turns the limit off and keeps the default rate, so that the
		// configuration stays valid and turning it back on is one change.
		c.RateLimiting.Enabled = *v != 0
		set("rate_limiting.enabled", "rate_limit_per_second")
		if *v != 0 {
			c.RateLimiting.RequestsPerSecond = float64(*v)
			set("rate_limiting.requests_per_second", "rate_limit_per_second")
		}
	}
}

// readLimited reads a configuration file of at most maxConfigBytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxConfigBytes+1)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if buf.Len() > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigBytes)
	}
	return buf.Bytes(), nil
}
