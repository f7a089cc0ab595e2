package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/mcpstdio"
	"github.com/mcp-bridge/mcp-bridge/src/tools"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
)

// stdioGCHeadroom is tools.Config.GCHeadroom in a stdio child.
const stdioGCHeadroom = 8 << 20

// runStdio serves the Home Assistant MCP tools over stdin and stdout until
// the client closes stdin or ctx ends. Only the protocol goes to stdout;
// log writes to stderr. The Home Assistant client runs beside the server
// and reconnects on its own, so a Home Assistant restart costs the calls
// made during it, not the session.
func runStdio(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	client, err := hass.New(hass.Config{
		RESTURL:      cfg.HomeAssistant.RESTURL,
		WebSocketURL: cfg.HomeAssistant.WebSocketURL,
		Token:        cfg.HomeAssistant.Token,
		Logger:       log,
	})
	if err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	tcfg := tools.Config{
		ReadOnly:        cfg.Tools.ReadOnly,
		AllowedDomains:  cfg.Tools.AllowedDomains,
		BlockedEntities: cfg.Tools.BlockedEntities,
		ConfirmServices: cfg.Tools.ConfirmServices,
		Logger:          log,
		Name:            "mcp-bridge",
		Version:         version,
		// Every child holds the home's states; the add-on's memory is
		// the sum of its children's.
		ReleaseMemory: true,
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" { // else the operator's choice stands
		// Collect every 8 MiB of garbage (or the live heap, if more)
		// instead of every 2-3 MiB on a small home, and give that back
		// once idle.
		tcfg.GCHeadroom = stdioGCHeadroom
	}
	if err := tcfg.Validate(); err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return client.Run(gctx) })
	g.Go(func() error {
		defer cancel() // the MCP session ended: stop the client too
		return tools.Serve(gctx, tcfg, client, &mcpstdio.Transport{})
	})
	return g.Wait()
}
