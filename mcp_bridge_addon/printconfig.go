package main

import (
	"fmt"
	"io"
	"maps"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// redacted replaces secrets wherever the configuration is shown.
const redacted = "**redacted**"

// Redacted returns a copy of c with every secret replaced by "**redacted**":
// the Home Assistant and API tokens, the Redis password and the values of
// the children's environment (which may hold tokens).
func (c *Config) Redacted() Config {
	r := *c
	r.origin = nil
	redact := func(s *string) {
		if *s != "" {
			*s = redacted
		}
	}
	redact(&r.HomeAssistant.Token)
	redact(&r.Bridge.APIToken)
	r.Cache.Levels.L2.URL = redactURL(r.Cache.Levels.L2.URL)
	if r.SessionPool.Env != nil {
		r.SessionPool.Env = maps.Clone(r.SessionPool.Env)
		for k := range r.SessionPool.Env {
			r.SessionPool.Env[k] = redacted
		}
	}
	return r
}

// redactURL hides the password of a URL such as redis://:secret@host:6379.
// A URL that does not parse but holds an "@" is hidden whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return redacted
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
		return strings.Replace(u.String(), "REDACTED", redacted, 1)
	}
	return raw
}

// printConfig writes the effective configuration, secrets redacted, as YAML.
func printConfig(w io.Writer, c *Config) error {
	r := c.Redacted()
	if r.Mode == ModeDemo && r.HomeAssistant.RESTURL == "" {
		r.HomeAssistant.RESTURL = "(simulated home, started at run time)"
	}
	out, err := yaml.Marshal(&r)
	if err != nil {
		return fmt.Errorf("printing the configuration: %w", err)
	}
	_, err = w.Write(out)
	return err
}
