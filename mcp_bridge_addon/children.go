package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// childCommand returns the command of the pool's children and whether it
// is our own stdio subcommand: session_pool.command (or
// $MCP_BRIDGE_SERVER_COMMAND) if set, else this very binary's "stdio".
func childCommand(cfg *Config) (cmd []string, own bool, err error) {
	if len(cfg.SessionPool.Command) > 0 {
		return slices.Clone(cfg.SessionPool.Command), false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, false, fmt.Errorf("finding this program to start its stdio children: %w", err)
	}
	return []string{exe, "stdio"}, true, nil
}

// childEnv is what the pool adds to the bridge's own environment for each
// child. Our own stdio child gets everything it needs to see Home Assistant
// and expose exactly what this bridge exposes, independent of the files and
// flags the bridge was started with: the Home Assistant it resolved (the
// simulated one in demo mode), the exposure settings as $MCP_BRIDGE_TOOLS,
// the log level, and no YAML file. Every child, ours or not, gets
// session_pool.env last (it wins), and never sees the API token.
func childEnv(cfg *Config, own bool) []string {
	env := []string{envToken + "="} // empty counts as unset: children never need the API token
	if own {
		env = append(env, ownChildEnv(cfg)...)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.SessionPool.Env)) {
		env = append(env, k+"="+cfg.SessionPool.Env[k])
	}
	return env
}

func ownChildEnv(cfg *Config) []string {
	ha := cfg.HomeAssistant
	var env []string
	if cfg.Mode == ModeAddon {
		env = append(env,
			envHassURL+"=", envHassToken+"=",
			envSupervisorURL+"="+strings.TrimSuffix(ha.RESTURL, "/core/api"),
			envSupervisorToken+"="+ha.Token)
	} else {
		// HASS_URL takes the REST URL as it is: the loader strips /api.
		env = append(env, envHassURL+"="+ha.RESTURL, envHassToken+"="+ha.Token)
	}
	return append(env,
		envConfig+"=", // the settings a child needs are all here
		envTools+"="+toolsEnvValue(cfg.Tools),
		envLogLevel+"="+cfg.Logging.Level,
	)
}
