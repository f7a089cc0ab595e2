// Command mcp_bridge_addon is the MCP Bridge: the Home Assistant add-on (or
// standalone service) that lets LLM tools see and control Home Assistant
// through the Model Context Protocol.
//
// Subcommands:
//
//	serve        run the HTTP bridge (the default)
//	stdio        serve the Home Assistant MCP tools on stdin/stdout
//	healthcheck  exit 0 if the local /health answers 200 (Docker HEALTHCHECK)
//	version      print the version
//
// Configuration is read only here, from flags, the environment, a YAML file
// and the add-on options, in that order of precedence (see buildConfig).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the service failed while running, or is unhealthy
	exitUsage  = 2 // bad subcommand, flag or configuration; nothing was started
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run executes one subcommand and returns the process's exit code.
func run(args []string, stdout, stderr io.Writer, env environment) int {
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve", "stdio":
		return runService(cmd, rest, stdout, stderr, env)
	case "healthcheck":
		return runHealthcheck(rest, stdout, stderr, env)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case "help":
		usage(stdout)
		return exitOK
	}
	if cmd == "-h" || cmd == "--help" || cmd == "-help" {
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "mcp_bridge_addon: unknown subcommand %q\n\n", cmd)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcp_bridge_addon [subcommand] [flags]

Subcommands:
  serve        run the HTTP bridge (default)
  stdio        serve the Home Assistant MCP tools on stdin/stdout
  healthcheck  exit 0 if the local health endpoint answers 200, 1 otherwise
  version      print the version

Run "mcp_bridge_addon <subcommand> -h" for the flags of a subcommand.
`)
}

// runService loads the configuration and runs serve or stdio until SIGINT
// or SIGTERM.
func runService(cmd string, args []string, stdout, stderr io.Writer, env environment) int {
	fv, err := parseFlags(cmd, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "mcp_bridge_addon: %v\n", err)
		return exitUsage
	}
	cfg, warnings, err := buildConfig(loadInput{flags: fv, env: env, requireHA: true})
	if err != nil {
		reportConfigError(stderr, err)
		return exitUsage
	}
	if fv.printConfig {
		if err := printConfig(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "mcp_bridge_addon: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	log, closeLog, err := newLogger(stderr, cfg.Logging)
	if err != nil {
		reportConfigError(stderr, err)
		return exitUsage
	}
	defer closeLog()
	for _, w := range warnings {
		log.Warn().Msg(w)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once shutting down, restore the default handlers: a second Ctrl-C
	// then kills a shutdown that hangs.
	context.AfterFunc(ctx, stop)
	if cmd == "stdio" {
		err = stdioWithHome(ctx, cfg, log)
	} else {
		err = serve(ctx, cfg, log)
	}
	if err != nil {
		log.Error().Err(err).Msgf("%s failed", cmd)
		return exitFailed
	}
	return exitOK
}

// stdioWithHome starts the simulated home first in demo mode, then hands
// over to the tools' stdio server.
func stdioWithHome(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	if cfg.Mode == ModeDemo {
		stopDemo, err := startDemo(cfg, log)
		if err != nil {
			return err
		}
		defer stopDemo()
	}
	return runStdio(ctx, cfg, log)
}

// reportConfigError prints every configuration problem on its own line.
func reportConfigError(w io.Writer, err error) {
	fmt.Fprintln(w, "mcp_bridge_addon: invalid configuration:")
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}
