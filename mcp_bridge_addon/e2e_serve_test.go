package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestServe runs "mcp_bridge_addon serve" against the fake Home Assistant:
// healthy once the port opens, 503 while Home Assistant is down (the
// process keeps running), healthy again after it comes back, and a clean
// exit on SIGTERM. Tokens must never reach the log, even at trace level.
func TestServe(t *testing.T) {
	haToken, apiToken := randomToken("ha-secret-"), randomToken("api-secret-")
	ha := simhome.NewServer(t, simhome.Options{Token: haToken})
	port, ingressPort := freePort(t), freePort(t)
	env := map[string]string{
		envHassURL: ha.URL(), envHassToken: haToken, envToken: apiToken, envLogLevel: "trace",
		envPort: strconv.Itoa(port), envIngressPort: strconv.Itoa(ingressPort),
	}
	p := start(t, env, "serve")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	waitPort(t, p, port)
	opened := time.Now()
	checkHealthy(t, base+"/health")
	t.Logf("healthy %v after the port opened", time.Since(opened))

	checkAuth(t, base, apiToken)
	if a := request(t, fmt.Sprintf("http://127.0.0.1:%d/", ingressPort), ""); a.status != 200 || !strings.Contains(a.body, "MCP Bridge") {
		t.Errorf("Ingress page: %d %.200s", a.status, a.body)
	}
	if code, out, errOut := runToEnd(t, env, "healthcheck"); code != exitOK {
		t.Errorf("healthcheck while healthy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	ha.Stop()
	a := waitStatus(t, p, base+"/health", 503)
	if !strings.Contains(a.body, `"status":"unhealthy"`) || !strings.Contains(a.body, `"status":"unavailable"`) {
		t.Errorf("health while Home Assistant is down: %s", a.body)
	}
	// The container's health check must not make the Supervisor restart the
	// add-on while Home Assistant restarts: the bridge itself answers.
	if code, out, errOut := runToEnd(t, env, "healthcheck"); code != exitOK || !strings.Contains(out, "dependency is down") {
		t.Errorf("healthcheck while Home Assistant is down: exit %d, stdout %q, stderr %q; want %d", code, out, errOut, exitOK)
	}
	if !p.running() {
		t.Fatal("the bridge exited when Home Assistant went down")
	}

	if err := ha.Restart(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, base+"/health", 200)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	checkLog(t, p.stderr.String(), haToken, apiToken)
}

// checkHealthy expects /health to answer 200 right away: the health check
// waits for the first connection to Home Assistant (within its 2 s
// deadline), so a few tries absorb a very slow machine.
func checkHealthy(t *testing.T, url string) {
	t.Helper()
	var a answer
	for range 3 {
		if a = request(t, url, ""); a.status == 200 {
			break
		}
	}
	if a.status != 200 {
		t.Fatalf("health after the port opened: %d %s", a.status, a.body)
	}
	var h struct {
		Status       string
		Timestamp    time.Time
		Dependencies map[string]struct{ Status string }
	}
	if err := json.Unmarshal([]byte(a.body), &h); err != nil {
		t.Fatalf("health body %q: %v", a.body, err)
	}
	if h.Status != "healthy" || h.Dependencies["home_assistant"].Status != "ok" || h.Timestamp.IsZero() {
		t.Errorf("health = %s", a.body)
	}
}

func checkAuth(t *testing.T, base, token string) {
	t.Helper()
	a := request(t, base+"/no-such-route", "")
	if a.status != 401 || !strings.Contains(a.body, `"code":-31001`) || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("without a token: %d %s", a.status, a.body)
	}
	if a := request(t, base+"/no-such-route", "wrong"+token); a.status != 401 {
		t.Errorf("with a wrong token: %d %s", a.status, a.body)
	}
	if a := request(t, base+"/no-such-route", token); a.status != 404 {
		t.Errorf("with the token: %d %s, want 404", a.status, a.body)
	}
}

// checkLog checks that the log is there (so that its silence about the
// secrets means something) and that no secret is in it.
func checkLog(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, want := range []string{"starting MCP Bridge", "connected to home assistant", "http request"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("log contains the secret %q", s)
		}
	}
}

// TestBadConfiguration checks that an invalid configuration exits with
// code 2 and a message naming the key, before anything is started.
func TestBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "config.yaml")
	writeFile(t, badFile, "queue:\n  max_size: 10\n  max_sise: 20\n")
	port := strconv.Itoa(freePort(t))
	ok := map[string]string{envHassURL: "http://127.0.0.1:1", envHassToken: "t", envPort: port, envIngressPort: "0"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown key", with(envConfig, badFile), nil, badFile + `: unknown key "queue.max_sise" (line 3)`},
		{"port 70000", with(envPort, "70000"), nil, "MCP_BRIDGE_PORT: 70000 is not a valid port (1-65535)"},
		{"flag port 70000", ok, []string{"--port", "70000"}, "--port: 70000 is not a valid port (1-65535)"},
		{"non-URL HASS_URL", with(envHassURL, "foo"), nil, `HASS_URL: "foo" is not an absolute http(s) URL`},
		{"missing token", with(envHassToken, ""), nil, "HASS_TOKEN: required when HASS_URL is set"},
		{"no home assistant", with(envHassURL, ""), nil, "set HASS_URL and HASS_TOKEN"},
		{"bad flag", ok, []string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{"stray argument", ok, []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runToEnd(t, tt.env, append([]string{"serve"}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			// The configuration is checked before the logger exists and
			// before any listener: nothing was logged, nothing served.
			if strings.Contains(stderr, "starting MCP Bridge") || strings.Contains(stderr, "serving") || stdout != "" {
				t.Errorf("the bridge started despite the bad configuration:\nstdout %q\nstderr %s", stdout, stderr)
			}
		})
	}
}

// TestDemo serves the simulated home with no Home Assistant configured.
func TestDemo(t *testing.T) {
	port := freePort(t)
	p := start(t, map[string]string{envPort: strconv.Itoa(port), envIngressPort: "0"}, "serve", "--demo")
	waitPort(t, p, port)
	checkHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != exitOK {
		t.Errorf("exit code = %d", code)
	}
	log := p.stderr.String()
	for _, want := range []string{"DEMO MODE", "simulated home", "loopback only"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestSubcommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"version", []string{"version"}, exitOK, "mcp_bridge_addon 9.9.9-e2e", ""},
		{"help", []string{"help"}, exitOK, "Subcommands:", ""},
		{"unknown subcommand", []string{"frobnicate"}, exitUsage, "", `unknown subcommand "frobnicate"`},
		{"serve -h", []string{"serve", "-h"}, exitOK, "", "-print-config"},
		{"healthcheck, nothing listening", []string{"healthcheck", "--port", strconv.Itoa(freePort(t))}, exitFailed, "", "unhealthy"},
		{"healthcheck, bad port", []string{"healthcheck", "--port", "0"}, exitUsage, "", "--port: 0 is not a valid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runToEnd(t, nil, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)",
					code, tt.wantCode, stdout, tt.wantStdout, stderr, tt.wantStderr)
			}
		})
	}
}

// TestPrintConfig prints the effective configuration without its secrets.
func TestPrintConfig(t *testing.T) {
	haToken, apiToken := randomToken("ha-secret-"), randomToken("api-secret-")
	env := map[string]string{envHassURL: "https://ha.example:8123", envHassToken: haToken, envToken: apiToken,
		envRedisURL: "redis://:redis-pass-123@localhost:6379/0"}
	code, stdout, stderr := runToEnd(t, env, "serve", "--print-config", "--port", "4567")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"port: 4567", "websocket_url: wss://ha.example:8123/api/websocket", "token: '**redacted**'",
		"api_token: '**redacted**'", "url: redis://:**redacted**@localhost:6379/0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, secret := range []string{haToken, apiToken, "redis-pass-123"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output contains the secret %q", secret)
		}
	}
}

// TestServeHomeAssistantDownAtStart starts the bridge while Home Assistant
// is down: it must serve /health with 503 and become healthy once Home
// Assistant comes up, without a restart.
func TestServeHomeAssistantDownAtStart(t *testing.T) {
	ha := simhome.NewServer(t, simhome.Options{})
	ha.Stop()
	port := freePort(t)
	p := start(t, map[string]string{envHassURL: ha.URL(), envHassToken: ha.Token(),
		envPort: strconv.Itoa(port), envIngressPort: "0"}, "serve")
	waitPort(t, p, port)
	health := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	if a := request(t, health, ""); a.status != 503 {
		t.Errorf("health with Home Assistant down = %d %s, want 503", a.status, a.body)
	}
	if err := ha.Restart(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, health, 200)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != exitOK {
		t.Errorf("exit code = %d", code)
	}
}
