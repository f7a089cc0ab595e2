package main

import (
	"fmt"
	"runtime"
)

// version is the bridge's version. Release builds override it with
// -ldflags "-X main.version=..."; config.yaml's version must equal it.
var version = "0.1.0"

// versionString is what the version subcommand prints.
func versionString() string {
	return fmt.Sprintf("mcp_bridge_addon %s (%s %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
