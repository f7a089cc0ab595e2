package httpapi

import (
	"os"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// TestMain lets the test binary serve as a pooltest MCP child: the /mcp
// route tests run real child processes behind a real pool.
func TestMain(m *testing.M) {
	pooltest.Main()
	os.Exit(m.Run())
}
