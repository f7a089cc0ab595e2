package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Environment variables read by the bridge (see DOCS.md).
const (
	envHassURL         = "HASS_URL"
	envHassToken       = "HASS_TOKEN"
	envSupervisorToken = "SUPERVISOR_TOKEN"
	envSupervisorURL   = "SUPERVISOR_URL" // default http://supervisor
	envPort            = "MCP_BRIDGE_PORT"
	envIngressPort     = "MCP_BRIDGE_INGRESS_PORT"
	envToken           = "MCP_BRIDGE_TOKEN"
	envData            = "MCP_BRIDGE_DATA"
	envLogLevel        = "MCP_BRIDGE_LOG_LEVEL"
	envRedisURL        = "REDIS_URL"
	envOptions         = "MCP_BRIDGE_OPTIONS" // default /data/options.json
	envConfig          = "MCP_BRIDGE_CONFIG"
	envServerCommand   = "MCP_BRIDGE_SERVER_COMMAND"
	envTools           = "MCP_BRIDGE_TOOLS" // JSON: the exposure settings; serve passes its own to its children
)

// environment reads variables through a lookup function (os.LookupEnv in
// the binary, a map in tests). An empty value counts as unset, as
// docker-compose's "HASS_URL=" means "not configured".
type environment func(name string) (string, bool)

func (e environment) get(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	v, ok := e(name)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

// applyEnv overlays the bridge's environment variables onto c. Home
// Assistant's variables are read by resolveHomeAssistant.
func applyEnv(c *Config, env environment) []error {
	var errs []error
	intVar := func(name, key string, dst *int) {
		if v, ok := env.get(name); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, &configError{Key: key, Msg: fmt.Sprintf("%s: %s is not a whole number", name, shorten(v))})
				return
			}
			*dst = n
			c.setOrigin(key, name)
		}
	}
	strVar := func(name, key string, dst *string) {
		if v, ok := env.get(name); ok {
			*dst = v
			c.setOrigin(key, name)
		}
	}
	intVar(envPort, "bridge.port", &c.Bridge.Port)
	intVar(envIngressPort, "bridge.ingress_port", &c.Bridge.IngressPort)
	strVar(envToken, "bridge.api_token", &c.Bridge.APIToken)
	strVar(envData, "bridge.data_dir", &c.Bridge.DataDir)
	if v, ok := env.get(envLogLevel); ok {
		c.Logging.Level = normalizeLevel(v)
		c.setOrigin("logging.level", envLogLevel)
	}
	if v, ok := env.get(envRedisURL); ok {
		c.Cache.Levels.L2.URL, c.Cache.Levels.L2.Enabled = v, true
		c.setOrigin("cache.levels.l2.url", envRedisURL)
		c.setOrigin("cache.levels.l2.enabled", envRedisURL)
	}
	if v, ok := env.get(envTools); ok {
		t, err := parseToolsEnv(v)
		if err != nil {
			errs = append(errs, &configError{Key: "tools", Msg: envTools + ": " + err.Error()})
		} else {
			t.apply(c)
		}
	}
	if v, ok := env.get(envServerCommand); ok {
		// Split on white space; arguments containing spaces need the
		// session_pool.command list in the YAML file.
		c.SessionPool.Command = strings.Fields(v)
		c.setOrigin("session_pool.command", envServerCommand)
	}
	return errs
}

// toolsEnv is $MCP_BRIDGE_TOOLS: the exposure settings as a JSON object with
// the add-on options' names. Keys that are absent leave the setting alone.
// serve passes its effective settings to its stdio children this way, so
// that every child exposes exactly what the bridge was configured with,
// whatever files it was given.
type toolsEnv struct {
	ReadOnly        *bool    `json:"read_only"`
	AllowedDomains  []string `json:"allowed_domains"`
	BlockedEntities []string `json:"blocked_entities"`
	ConfirmServices []string `json:"confirm_services"`
}

// parseToolsEnv decodes $MCP_BRIDGE_TOOLS; unknown keys and trailing data
// are errors. An explicit empty list ([]) is kept apart from an absent key.
func parseToolsEnv(v string) (toolsEnv, error) {
	var t toolsEnv
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return t, fmt.Errorf("%s: want %s", typeErr.Field, describeType(typeErr.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return t, fmt.Errorf("%s; want a JSON object with read_only, allowed_domains, blocked_entities or confirm_services",
				strings.TrimPrefix(err.Error(), "json: "))
		}
		return t, fmt.Errorf("%s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return t, errors.New("unexpected data after the JSON object")
	}
	if bytes.Equal(bytes.TrimSpace([]byte(v)), []byte("null")) {
		return t, errors.New("not a JSON object of settings")
	}
	return t, nil
}

// apply overlays the settings present in t onto c.
func (t toolsEnv) apply(c *Config) {
	set := func(key, name string) { c.setOrigin(key, envTools+": "+name) }
	if t.ReadOnly != nil {
		c.Tools.ReadOnly = *t.ReadOnly
		set("tools.read_only", "read_only")
	}
	lists := []struct {
		v    []string
		dst  *[]string
		name string
	}{
		{t.AllowedDomains, &c.Tools.AllowedDomains, "allowed_domains"},
		{t.BlockedEntities, &c.Tools.BlockedEntities, "blocked_entities"},
		{t.ConfirmServices, &c.Tools.ConfirmServices, "confirm_services"},
	}
	for _, l := range lists {
		if l.v != nil {
			*l.dst = slices.Clone(l.v)
			set("tools."+l.name, l.name)
		}
	}
}

// toolsEnvValue is the $MCP_BRIDGE_TOOLS value that reproduces t exactly.
// A nil confirm_services (the tools' own defaults) is left out, so that the
// child's defaults apply, which are the same.
func toolsEnvValue(t ToolsConfig) string {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	v := map[string]any{
		"read_only":        t.ReadOnly,
		"allowed_domains":  nonNil(t.AllowedDomains),
		"blocked_entities": nonNil(t.BlockedEntities),
	}
	if t.ConfirmServices != nil {
		v["confirm_services"] = t.ConfirmServices
	}
	b, _ := json.Marshal(v) // cannot fail: a bool and lists of strings
	return string(b)
}
