package main

import (
	"fmt"
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
	if v, ok := env.get(envServerCommand); ok {
		// Split on white space; arguments containing spaces need the
		// session_pool.command list in the YAML file.
		c.SessionPool.Command = strings.Fields(v)
		c.setOrigin("session_pool.command", envServerCommand)
	}
	return errs
}
