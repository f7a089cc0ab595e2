package main

import (
	"context"
	"errors"

	"github.com/rs/zerolog"
)

// runStdio serves the Home Assistant MCP tools over stdin/stdout.
// Only protocol goes to stdout; log writes to stderr.
func runStdio(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	_, _, _ = ctx, cfg, log
	return errors.New("stdio: not built yet")
}
