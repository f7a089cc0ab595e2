package main

import (
	"flag"
	"fmt"
	"io"
)

// flagValues are the command-line flags of one subcommand; set records
// which were given, since only those override the other sources.
type flagValues struct {
	configPath  string
	demo        bool
	printConfig bool
	host        string
	port        int
	ingressPort int
	logLevel    string
	dataDir     string
	set         map[string]bool
}

// parseFlags parses args for cmd (serve, stdio or healthcheck). It returns
// flag.ErrHelp for -h, after printing the usage to stderr.
func parseFlags(cmd string, args []string, stderr io.Writer) (flagValues, error) {
	var fv flagValues
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&fv.configPath, "config", "", "YAML configuration `file` (or $MCP_BRIDGE_CONFIG)")
	if cmd == "serve" || cmd == "healthcheck" {
		fs.StringVar(&fv.host, "host", "", "main API bind `address` (default 0.0.0.0; 127.0.0.1 without an API token)")
		fs.IntVar(&fv.port, "port", 0, "main API `port` (or $MCP_BRIDGE_PORT; default 3003)")
	}
	if cmd == "serve" || cmd == "stdio" {
		fs.BoolVar(&fv.demo, "demo", false, "serve a simulated home instead of a real Home Assistant")
		fs.StringVar(&fv.logLevel, "log-level", "", "log `level`: trace, debug, info, notice, warning, error or fatal")
		fs.StringVar(&fv.dataDir, "data", "", "data `directory` (or $MCP_BRIDGE_DATA; default /data in the add-on, ./data otherwise)")
		fs.BoolVar(&fv.printConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	}
	if cmd == "serve" {
		fs.IntVar(&fv.ingressPort, "ingress-port", 0, "Ingress status page `port` (or $MCP_BRIDGE_INGRESS_PORT; default 8099, 0 disables it)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mcp_bridge_addon %s [flags]\n\nFlags:\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fv, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fv, fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	fv.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fv.set[f.Name] = true })
	return fv, nil
}

// apply overlays the flags that were given onto c.
func (fv flagValues) apply(c *Config) {
	if fv.set["host"] {
		c.Bridge.Host = fv.host
		c.setOrigin("bridge.host", "--host")
	}
	if fv.set["port"] {
		c.Bridge.Port = fv.port
		c.setOrigin("bridge.port", "--port")
	}
	if fv.set["ingress-port"] {
		c.Bridge.IngressPort = fv.ingressPort
		c.setOrigin("bridge.ingress_port", "--ingress-port")
	}
	if fv.set["log-level"] {
		c.Logging.Level = normalizeLevel(fv.logLevel)
		c.setOrigin("logging.level", "--log-level")
	}
	if fv.set["data"] {
		c.Bridge.DataDir = fv.dataDir
		c.setOrigin("bridge.data_dir", "--data")
	}
}
