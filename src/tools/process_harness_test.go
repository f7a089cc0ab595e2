package tools

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The real `mcp_bridge_addon stdio` binary, built once per test run.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
	binOut  []byte
)

// bridgeBinary builds mcp_bridge_addon into a temporary directory (once)
// and returns its path.
func bridgeBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "mcp-bridge-tools-test-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "mcp_bridge_addon")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/mcp-bridge/mcp-bridge/mcp_bridge_addon")
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("building mcp_bridge_addon: %v\n%s", binErr, binOut)
	}
	return binPath
}

func cleanupBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// procEnv is a real `mcp_bridge_addon stdio` child driven by the SDK
// client over its stdin and stdout.
type procEnv struct {
	ha     *simhome.Server
	cs     *mcp.ClientSession
	stderr *lockedBuffer

	mu      sync.Mutex
	schemas map[string]*jsonschema.Resolved
}

// startProcess starts the binary in stdio mode against ha, with toolsYAML
// (the "tools:" section of a config file, may be empty).
func startProcess(t *testing.T, ha *simhome.Server, toolsYAML string) *procEnv {
	t.Helper()
	bin := bridgeBinary(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfgFile, []byte(toolsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "stdio")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"HASS_URL=" + ha.URL(),
		"HASS_TOKEN=" + ha.Token(),
		"MCP_BRIDGE_CONFIG=" + cfgFile,
		"MCP_BRIDGE_OPTIONS=" + filepath.Join(dir, "absent-options.json"),
		"MCP_BRIDGE_DATA=" + dir,
		"MCP_BRIDGE_LOG_LEVEL=debug",
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "process-test", Version: "1"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("starting %s stdio: %v\nstderr:\n%s", bin, err, stderr)
	}
	t.Cleanup(func() {
		if err := cs.Close(); err != nil {
			t.Errorf("closing the child: %v", err)
		}
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr)
		}
	})
	return &procEnv{ha: ha, cs: cs, stderr: stderr}
}

func (p *procEnv) call(t testing.TB, name string, args any) *mcp.CallToolResult {
	t.Helper()
	return callTool(t, p.cs, name, args, p.outputSchema)
}

func (p *procEnv) outputSchema(t testing.TB, name string) *jsonschema.Resolved {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.schemas == nil {
		p.schemas = listOutputSchemas(t, p.cs)
	}
	r, ok := p.schemas[name]
	if !ok {
		t.Fatalf("tool %s is not listed", name)
	}
	return r
}
