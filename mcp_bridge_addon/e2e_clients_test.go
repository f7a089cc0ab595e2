package main

// End-to-end tests with the MCP clients people use: the TypeScript SDK over
// Streamable HTTP and HTTP+SSE, mcp-remote, the Inspector CLI, and the
// official conformance suite, all against the real binary whose children
// are go-sdk's conformance everything-server. They need Node 22 and the npm
// packages that `bash .ci/setup-node` installs into .ci/npm; without them
// they skip, except when CI is set.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// npmDir is where .ci/setup-node installs the clients, from this package.
const npmDir = "../.ci/npm"

// nodeClients is a Node 22 and the npm packages the tests run with it.
type nodeClients struct {
	node    string // the Node 22 binary
	dir     string // absolute .ci/npm
	modules string // its node_modules
}

// clients finds Node 22 and .ci/npm/node_modules, skipping the test (or
// failing it when CI is set) when they are missing.
func clients(t *testing.T) nodeClients {
	t.Helper()
	dir, err := filepath.Abs(npmDir)
	if err != nil {
		t.Fatal(err)
	}
	c := nodeClients{dir: dir, modules: filepath.Join(dir, "node_modules")}
	c.node = filepath.Join(c.modules, ".bin", "node")
	missing := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...) + "; run `bash .ci/setup-node` to install the npm MCP clients"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(c.node); err != nil {
		missing("no Node 22 at %s", c.node)
	}
	out, err := exec.Command(c.node, "--version").Output()
	if err != nil {
		missing("%s --version: %v", c.node, err)
	}
	version := strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(version, ".", 2)[0], "v"))
	if major < 22 {
		missing("%s is Node %s; the conformance suite needs Node 22 or later", c.node, version)
	}
	for _, pkg := range []string{"@modelcontextprotocol/sdk", "@modelcontextprotocol/conformance", "conformance-next",
		"mcp-remote", "@modelcontextprotocol/inspector-cli"} {
		if _, err := os.Stat(filepath.Join(c.modules, pkg, "package.json")); err != nil {
			missing("npm package %s is not installed in %s", pkg, c.modules)
		}
	}
	return c
}

var (
	esOnce  sync.Once
	esPath  string
	esError error
)

// everythingServer builds go-sdk's conformance everything-server (the
// version in go.mod) once per test binary. Without -http it speaks stdio,
// which makes it a child for the bridge with every tool, resource and
// prompt the conformance suite calls.
func everythingServer(t *testing.T) string {
	t.Helper()
	esOnce.Do(func() {
		esPath = filepath.Join(binDir, "everything-server")
		gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-o", esPath, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
		if out, err := cmd.CombinedOutput(); err != nil {
			esError = fmt.Errorf("go build everything-server: %v\n%s", err, out)
		}
	})
	if esError != nil {
		t.Fatal(esError)
	}
	return esPath
}

// startEverythingBridge starts the bridge on 127.0.0.1 with everything-server
// children, with an API token or (token false) none, and waits until a
// session is up. The rate limit is off: the conformance suite sends a
// hundred requests a second from one address, and the limit is not what
// these tests are about.
func startEverythingBridge(t *testing.T, token bool) *bridgeProc {
	t.Helper()
	options := filepath.Join(t.TempDir(), "options.json")
	// The 2026-07-28 conformance scenarios leave calls parked for client
	// input that never comes; each holds a child until its timeout (see
	// DOCS, "What MCP over HTTP relays"), so the suite gets children enough
	// not to wait for those.
	writeFile(t, options, `{"rate_limit_per_second": 0, "pool_min_sessions": 12, "pool_max_sessions": 16}`)
	env := map[string]string{envServerCommand: everythingServer(t), envOptions: options}
	if !token {
		env[envToken] = "" // unset: loopback without a token
	}
	b := startBridge(t, env, "--demo")
	if !token {
		b.token = ""
	}
	b.waitSessions(t)
	return b
}

// run runs a Node script of .ci/npm with the Node 22 binary first on PATH,
// and returns its combined output.
func (c nodeClients) run(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.node, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(c.node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return string(out), err
}

// TestClients drives the bridge with each npm client script. Each client
// gets a bridge of its own, so that what one client does to a bridge (a
// parked call, failed authentications counted against the address) shows
// in that client's results and not in the next one's. The token goes in the
// environment, never in an argument, except for the Inspector, which takes
// headers only as arguments.
func TestClients(t *testing.T) {
	c := clients(t)
	type script struct {
		name string
		args func(base string) []string
	}
	groups := []struct {
		client  string
		scripts []script
	}{
		{"typescript-sdk", []script{
			{"streamable", func(base string) []string { return []string{"e2e/streamable.mjs", base + "/mcp"} }},
			{"sse", func(base string) []string { return []string{"e2e/sse.mjs", base + "/sse"} }},
		}},
		// One mcp-remote after another, as a desktop host restarting it does.
		{"mcp-remote", []script{
			{"http-only", func(base string) []string { return []string{"e2e/mcp-remote.mjs", base + "/mcp"} }},
			{"sse-only", func(base string) []string { return []string{"e2e/mcp-remote.mjs", base + "/sse"} }},
			{"protocol_auto", func(base string) []string {
				return []string{"e2e/mcp-remote.mjs", base + "/mcp", "-", "--transport", "http-only", "--protocol", "auto"}
			}},
		}},
		{"inspector", []script{
			{"http", func(base string) []string { return []string{"e2e/inspector.mjs", base + "/mcp"} }},
			{"sse", func(base string) []string { return []string{"e2e/inspector.mjs", base + "/sse"} }},
		}},
	}
	for _, g := range groups {
		t.Run(g.client, func(t *testing.T) {
			b := startEverythingBridge(t, true)
			for _, s := range g.scripts {
				t.Run(s.name, func(t *testing.T) { runScript(t, c, b, s.args(b.base)) })
			}
		})
	}
	t.Run("token_required", func(t *testing.T) {
		checkTokenRequired(t, startEverythingBridge(t, true))
	})
}

// runScript runs one client script against b with a timeout and fails the
// test with its output unless it succeeds.
func runScript(t *testing.T, c nodeClients, b *bridgeProc, args []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := c.run(ctx, []string{"MCP_TOKEN=" + b.token}, args...)
	out = strings.ReplaceAll(out, b.token, "<token>")
	if err != nil {
		t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("node %s (%.1f s):\n%s", strings.Join(args, " "), time.Since(start).Seconds(), out)
}

// checkTokenRequired checks that both MCP endpoints refuse a request
// without the token or with a wrong one: a client that passed without
// sending the token would prove nothing.
func checkTokenRequired(t *testing.T, b *bridgeProc) {
	t.Helper()
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},` +
		`"clientInfo":{"name":"e2e","version":"1"}}}`
	for _, token := range []string{"", "wrong-" + b.token} {
		if status, body := statusOf(t, http.MethodPost, b.base+"/mcp", token, init); status != http.StatusUnauthorized {
			t.Errorf("POST /mcp with token %q: %d %s, want 401", token, status, body)
		}
		if status, body := statusOf(t, http.MethodGet, b.base+"/sse", token, ""); status != http.StatusUnauthorized {
			t.Errorf("GET /sse with token %q: %d %s, want 401", token, status, body)
		}
	}
}

// statusOf sends one MCP request and returns the status and the start of
// the body, without waiting for the end of a stream.
func statusOf(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	start := make([]byte, 300)
	n, _ := io.ReadAtLeast(resp.Body, start, 1)
	return resp.StatusCode, strconv.Quote(string(start[:n]))
}

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Status       string `json:"status"` // SUCCESS, FAILURE, WARNING, SKIPPED, INFO
	ErrorMessage string `json:"errorMessage"`
	Details      any    `json:"details"`
}

// TestConformance runs the official MCP conformance suite against /mcp:
// 0.1.16's active suite (2024-11-05 to 2025-11-25, sessions, sampling,
// elicitation from the child), 0.2.0-alpha's 2026-07-28 scenarios
// (stateless requests, server/discover, headers, caching, MRTR) and its
// 2025-11-25 ones. Any failed check fails the test; there is no baseline.
// The suite sends no Authorization header, so the bridge runs without a
// token on loopback.
func TestConformance(t *testing.T) {
	c := clients(t)
	b := startEverythingBridge(t, false)
	suites := []struct {
		version, pkg string
		list, run    []string
	}{
		{"0.1.16", "@modelcontextprotocol/conformance", nil, []string{"--suite", "active"}},
		{"0.2.0-alpha.12", "conformance-next", []string{"--spec-version", "2026-07-28"},
			[]string{"--suite", "all", "--spec-version", "2026-07-28"}},
		// The newer suite's checks of the legacy era: session lifecycle,
		// JSON Schema 2020-12, wire schema validation of every message.
		{"0.2.0-alpha.12", "conformance-next", []string{"--spec-version", "2025-11-25"},
			[]string{"--suite", "all", "--spec-version", "2025-11-25"}},
	}
	for _, s := range suites {
		t.Run(s.version+"_"+s.run[len(s.run)-1], func(t *testing.T) {
			cli := filepath.Join("node_modules", s.pkg, "dist", "index.js")
			name := "conformance " + s.version + " " + strings.Join(s.run, " ")
			if out, err := c.run(t.Context(), nil, append([]string{cli, "list", "--server"}, s.list...)...); err == nil {
				t.Logf("%s scenarios:\n%s", name, out)
			}
			runConformance(t, c, name, cli, b.base+"/mcp", s.run)
		})
	}
}

// runConformance runs one conformance suite with a timeout and fails the
// test with every failed check.
func runConformance(t *testing.T, c nodeClients, name, cli, url string, args []string) {
	t.Helper()
	dir := t.TempDir()
	if keep := os.Getenv("MCP_BRIDGE_E2E_RESULTS"); keep != "" {
		// Kept for reading; a run replaces the previous one's results.
		dir = filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	out, runErr := c.run(ctx, nil, append([]string{cli, "server", "--url", url, "-o", dir}, args...)...)
	scenarios, checks, err := readConformance(dir)
	if err != nil || len(checks) == 0 {
		t.Fatalf("%s: %v; no checks read from %s (%v); output:\n%s", name, runErr, dir, err, out)
	}
	count, failed, warned := tally(checks)
	all := len(failed)
	failed = withoutKnown(t, name, checks, failed)
	if len(warned) > 0 {
		t.Logf("%s: %d warnings:\n%s", name, len(warned), strings.Join(warned, "\n"))
	}
	t.Logf("%s: %d scenarios, %d passed, %d failed, %d warnings, %d other in %.1f s",
		name, scenarios, count["SUCCESS"], count["FAILURE"], count["WARNING"],
		len(checks)-count["SUCCESS"]-count["FAILURE"]-count["WARNING"], time.Since(start).Seconds())
	if len(failed) > 0 {
		t.Errorf("%s: %d failed checks:\n%s", name, len(failed), strings.Join(failed, "\n"))
	}
	if runErr != nil && all == 0 { // the suite exits 1 on known failures too
		t.Errorf("%s exited with %v although no check failed; output:\n%s", name, runErr, out)
	}
}

// knownFailures are the conformance checks the bridge is known to fail,
// by scenario and check name, with why. Each is an open defect, not an
// accepted one: the test fails as soon as one passes, so that it leaves
// this list, and any failure not listed here fails the test.
var knownFailures = map[string]string{}

// withoutKnown returns failed without the known failures, logging them,
// and fails the test for each known failure that passed.
func withoutKnown(t *testing.T, name string, checks []scenarioCheck, failed []string) []string {
	t.Helper()
	status := map[string]string{}
	for _, ch := range checks {
		status[ch.scenario+"/"+ch.Name] = ch.Status
	}
	var rest []string
	for _, line := range failed {
		known := false
		for key, why := range knownFailures {
			if strings.HasPrefix(line, strings.Replace(key, "/", ": ", 1)+" (") {
				t.Logf("%s: known failure %s: %s", name, key, why)
				known = true
			}
		}
		if !known {
			rest = append(rest, line)
		}
	}
	for key := range knownFailures {
		if st, ran := status[key]; ran && st == "SUCCESS" {
			t.Errorf("%s: %s now passes: remove it from knownFailures", name, key)
		}
	}
	return rest
}

// tally counts checks by status and describes the failed and the warned.
func tally(checks []scenarioCheck) (count map[string]int, failed, warned []string) {
	count = map[string]int{}
	for _, ch := range checks {
		count[ch.Status]++
		details, _ := json.Marshal(ch.Details)
		line := fmt.Sprintf("%s: %s (%s): %s; details %.600s", ch.scenario, ch.Name, ch.ID, ch.ErrorMessage, details)
		switch ch.Status {
		case "FAILURE":
			failed = append(failed, line)
		case "WARNING":
			warned = append(warned, line)
		}
	}
	return count, failed, warned
}

// scenarioCheck is a check with the scenario (results directory) it came from.
type scenarioCheck struct {
	conformanceCheck
	scenario string
}

var resultsTime = regexp.MustCompile(`-\d{4}-\d\d-\d\dT[\d-]+Z$`)

// readConformance reads every DIR/*/checks.json, in scenario order.
func readConformance(dir string) (scenarios int, checks []scenarioCheck, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	if err != nil {
		return 0, nil, err
	}
	slices.Sort(files)
	var errs []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var cs []conformanceCheck
		if err := json.Unmarshal(raw, &cs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		// server-<scenario>-<timestamp>
		scenario := resultsTime.ReplaceAllString(strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "server-"), "")
		for _, c := range cs {
			checks = append(checks, scenarioCheck{c, scenario})
		}
	}
	return len(files), checks, errors.Join(errs...)
}
