package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// loadInput is everything buildConfig reads besides the files.
type loadInput struct {
	flags flagValues
	env   environment
	// requireHA is false for the healthcheck subcommand, which only needs
	// to know the port.
	requireHA bool
}

// buildConfig builds the effective configuration. Layers, lowest first:
// defaults, add-on options (/data/options.json or $MCP_BRIDGE_OPTIONS), the
// YAML file (--config or $MCP_BRIDGE_CONFIG), the environment, the flags.
// It returns every problem found, joined, and warnings to log once logging
// is set up.
func buildConfig(in loadInput) (*Config, []string, error) {
	c := defaultConfig("")
	var errs, warnings = []error{}, []string{}

	optionsPath := defaultOptionsPath
	if v, ok := in.env.get(envOptions); ok {
		optionsPath = v
	}
	opts, optionsFound, w, err := readOptions(optionsPath)
	warnings = append(warnings, w...)
	if err != nil {
		errs = append(errs, err)
	}
	opts.apply(&c, optionsPath)

	var fileHA fileHomeAssistant
	var file *configFile
	if path := configPath(in); path != "" {
		if file, err = readConfigFile(path); err != nil {
			errs = append(errs, err)
		} else if fileHA, err = file.apply(&c); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, applyEnv(&c, in.env)...)
	in.flags.apply(&c)

	haErrs := resolveHomeAssistant(&c, in, file, fileHA)
	if !in.requireHA {
		haErrs = nil
	}
	errs = append(errs, haErrs...)
	if c.Mode == ModeAddon && !optionsFound {
		warnings = append(warnings, fmt.Sprintf("no add-on options at %s; using the defaults", optionsPath))
	}
	finalize(&c)
	errs = append(errs, validationErrors(&c, in.requireHA, haErrs)...)
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	return &c, warnings, nil
}

func configPath(in loadInput) string {
	if in.flags.set["config"] {
		return in.flags.configPath
	}
	v, _ := in.env.get(envConfig)
	return v
}

// validationErrors runs Config.Validate, dropping the Home Assistant
// problems that resolveHomeAssistant already reported in the user's terms
// (or all of them, when Home Assistant is not needed).
func validationErrors(c *Config, requireHA bool, reported []error) []error {
	var skip []string // key paths, or prefixes of key paths
	for _, e := range reported {
		if ce := (*configError)(nil); errors.As(e, &ce) {
			skip = append(skip, ce.Key)
		}
	}
	if !requireHA {
		skip = append(skip, "home_assistant")
	}
	err := c.Validate()
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if ce := (*configError)(nil); errors.As(e, &ce) && coveredBy(ce.Key, skip) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// coveredBy reports whether key is one of keys or under one of them.
func coveredBy(key string, keys []string) bool {
	for _, k := range keys {
		if key == k || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

// finalize fills the defaults that depend on other settings.
func finalize(c *Config) {
	if _, set := c.origin["bridge.data_dir"]; !set {
		c.Bridge.DataDir = "./data"
		if c.Mode == ModeAddon {
			c.Bridge.DataDir = "/data"
		}
	}
	if _, set := c.origin["logging.format"]; !set && c.Logging.Structured {
		c.Logging.Format = "json"
	}
	if c.Bridge.Debug && (c.Logging.Level != "trace" && c.Logging.Level != "debug") {
		c.Logging.Level = "debug"
		c.setOrigin("logging.level", c.name("bridge.debug"))
	}
	ownChildDefaults(&c.SessionPool, c.origin)
}

// Defaults of the pool for our own stdio child, when the user set none.
// Our child serves many calls at once (go-sdk runs each request on its own
// goroutine, and the state index is shared by them), and each child holds
// its own copy of the home's states (about 20 MiB on a home of 10 000
// entities, measured with go run ./loadtest -memory), so two busy children serve as many calls as five, with two
// fifths of the memory; two rather than one, so that a child being
// replaced never leaves the bridge without one. A stdio server of unknown
// kind (session_pool.command) keeps the defaults for servers that answer
// one call at a time.
//
// Our tools never ask the client for input, so children spoken to in the
// 2026-07-28 protocol would give that protocol's clients nothing the warm
// handshake-era children do not, and would cost each a child started, and
// its states loaded, on their first call: none by default for our child.
const (
	ownTargetSessions = 2
	ownMaxInflight    = 16
)

func ownChildDefaults(sp *SessionPoolConfig, origin map[string]string) {
	if len(sp.Command) > 0 {
		return
	}
	if _, set := origin["session_pool.target_connections"]; !set {
		sp.TargetConnections = ownTargetSessions
	}
	if _, set := origin["session_pool.max_inflight_per_session"]; !set {
		sp.MaxInflightPerSession = ownMaxInflight
	}
	if _, set := origin["session_pool.stateless_connections"]; !set {
		sp.StatelessConnections = 0
	}
}

// resolveHomeAssistant chooses the mode and fills c.HomeAssistant.
//
// --demo selects the simulated home. Otherwise a Home Assistant URL (HASS_URL
// or home_assistant.url) selects standalone mode, and SUPERVISOR_TOKEN
// without one selects add-on mode, where Home Assistant is reached through
// the Supervisor's proxy.
func resolveHomeAssistant(c *Config, in loadInput, file *configFile, fileHA fileHomeAssistant) []error {
	haURL, urlSrc := fileHA.URL, ""
	token, tokenSrc := fileHA.Token, ""
	if file != nil {
		urlSrc, tokenSrc = file.name+": home_assistant.url", file.name+": home_assistant.token"
	}
	if v, ok := in.env.get(envHassURL); ok {
		haURL, urlSrc, tokenSrc = v, envHassURL, envHassToken
	}
	if v, ok := in.env.get(envHassToken); ok {
		token, tokenSrc = v, envHassToken
	}
	supervisorToken, underSupervisor := in.env.get(envSupervisorToken)
	switch {
	case in.flags.demo:
		c.Mode = ModeDemo
		if haURL != "" {
			return []error{&configError{Key: "mode", Msg: fmt.Sprintf("--demo: cannot be used with %s; remove one of them", urlSrc)}}
		}
		if underSupervisor {
			return []error{&configError{Key: "mode", Msg: "--demo: not available in add-on mode (SUPERVISOR_TOKEN is set)"}}
		}
		return nil
	case haURL != "":
		c.Mode = ModeStandalone
		c.setOrigin("home_assistant.url", urlSrc)
		c.setOrigin("home_assistant.token", tokenSrc)
		return standaloneHomeAssistant(c, haURL, urlSrc, token, tokenSrc)
	case underSupervisor:
		c.Mode = ModeAddon
		c.setOrigin("home_assistant.url", envSupervisorURL)
		c.setOrigin("home_assistant.token", envSupervisorToken)
		return addonHomeAssistant(c, in.env, supervisorToken)
	}
	c.Mode = ModeStandalone
	return []error{&configError{Key: "home_assistant", Msg: "no Home Assistant configured: set HASS_URL and HASS_TOKEN " +
		"(or home_assistant.url and home_assistant.token in the config file), or use --demo for a simulated home"}}
}

func standaloneHomeAssistant(c *Config, raw, urlSrc, token, tokenSrc string) []error {
	var errs []error
	base, err := baseURL(raw)
	if err != nil {
		errs = append(errs, &configError{Key: "home_assistant.url", Msg: fmt.Sprintf(
			"%s: %s is not an absolute http(s) URL (like http://homeassistant.local:8123)", urlSrc, shorten(raw))})
	} else {
		c.HomeAssistant.RESTURL = base.String() + "/api"
		c.HomeAssistant.WebSocketURL = websocketURL(base) + "/api/websocket"
	}
	if token == "" {
		errs = append(errs, &configError{Key: "home_assistant.token", Msg: fmt.Sprintf("%s: required when %s is set", tokenSrc, urlSrc)})
	}
	c.HomeAssistant.Token = token
	return errs
}

func addonHomeAssistant(c *Config, env environment, token string) []error {
	raw, ok := env.get(envSupervisorURL)
	if !ok {
		raw = "http://supervisor"
	}
	base, err := baseURL(raw)
	if err != nil {
		return []error{&configError{Key: "home_assistant.url", Msg: fmt.Sprintf(
			"%s: %s is not an absolute http(s) URL", envSupervisorURL, shorten(raw))}}
	}
	c.HomeAssistant = HomeAssistantConfig{
		RESTURL:      base.String() + "/core/api",
		WebSocketURL: websocketURL(base) + "/core/websocket",
		Token:        token,
	}
	return nil
}

// baseURL checks that raw is an absolute http(s) URL without credentials,
// query or fragment, and returns it without a trailing slash or /api.
func baseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Hostname() == "":
		return nil, errors.New("not an absolute http(s) URL")
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Opaque != "":
		return nil, errors.New("must not have credentials, a query or a fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api")
	u.RawPath = ""
	return u, nil
}

// websocketURL is u's base with the ws or wss scheme.
func websocketURL(u *url.URL) string {
	ws := *u
	ws.Scheme = "ws"
	if u.Scheme == "https" {
		ws.Scheme = "wss"
	}
	return ws.String()
}
