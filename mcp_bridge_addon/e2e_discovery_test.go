package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// TestServeAddonDiscovery runs the add-on as the Supervisor would and plays
// Home Assistant's MCP integration: the add-on announces itself through the
// Supervisor's discovery API (service mcp, config.url), and a client that
// sends no header of its own, as the integration does, uses the announced
// URL for MCP. The URL's secret is the add-on's own: it is kept across
// restarts (the Supervisor then keeps the same message), it opens /mcp only,
// and it is never logged.
func TestServeAddonDiscovery(t *testing.T) {
	supervisorToken := randomToken("supervisor-")
	ha := simhome.NewServer(t, simhome.Options{Token: supervisorToken})
	ha.SetDiscoveryServices("mcp") // as config.yaml lists them
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"pool_min_sessions": 1, "pool_max_sessions": 1, "rate_limit_per_second": 0}`)
	data := t.TempDir()
	env := map[string]string{envSupervisorToken: supervisorToken, envSupervisorURL: ha.URL(),
		envOptions: options, envData: data, envPort: strconv.Itoa(freePort(t))}

	b := startBridge(t, env)
	msg := waitDiscovery(t, ha, b)
	u, err := url.Parse(msg.Config["url"].(string))
	if err != nil {
		t.Fatalf("announced URL: %v", err)
	}
	host, _ := os.Hostname()
	secret := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/hass/"), "/mcp")
	if u.Scheme != "http" || u.Hostname() != host || u.Port() != strings.TrimPrefix(b.base, "http://127.0.0.1:") ||
		!strings.HasPrefix(u.Path, "/hass/") || !strings.HasSuffix(u.Path, "/mcp") || len(secret) < 32 {
		t.Fatalf("announced URL %s://%s%s..., want http://%s:<port>/hass/<secret>/mcp", u.Scheme, u.Host, u.Path[:min(len(u.Path), 10)], host)
	}
	if secret == b.token || secret == supervisorToken {
		t.Error("the announced URL carries the API token or SUPERVISOR_TOKEN, not a secret of its own")
	}
	if raw, err := os.ReadFile(filepath.Join(data, discoveryTokenFile)); err != nil || strings.TrimSpace(string(raw)) != secret {
		t.Errorf("the secret is not the one kept in %s (%v)", discoveryTokenFile, err)
	}

	// Home Assistant reaches the add-on by its host name; here, loopback.
	u.Host = "127.0.0.1:" + u.Port()
	cs := mcpSession(t, u.String(), "", "2025-03-26") // the version the integration asks for
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools/list through the announced URL: %v", err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_entity_state", Arguments: map[string]any{"entity_id": "light.living_room_floor_lamp"}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call through the announced URL: %v %+v", err, res)
	}

	// The secret opens /mcp and nothing else; the plain route still needs
	// the bearer token.
	for _, path := range []string{"/hass/" + secret + "/mcp/status", "/hass/" + secret + "/metrics", "/hass/" + secret[:31] + "/mcp", "/mcp"} {
		if a := b.send(t, hreq{method: "POST", path: path, body: initBody, from: nextSourceIP()}); a.status != 401 {
			t.Errorf("POST %s without a bearer token: %d, want 401", strings.Replace(path, secret, "<secret>", 1), a.status)
		}
	}
	kids := children(t, b.cmd.Process.Pid)
	b.stopAndCheckChildren(t, kids)

	// The next start announces the same URL: the Supervisor keeps its one
	// message, and Home Assistant's entry keeps working.
	b2 := startBridge(t, env)
	if again := waitDiscovery(t, ha, b2); again.UUID != msg.UUID || again.Config["url"] != msg.Config["url"] {
		t.Error("the second start announced another URL")
	}
	b2.stopAndCheckChildren(t, children(t, b2.cmd.Process.Pid))
	for _, log := range []string{b.stderr.String(), b2.stderr.String()} {
		if strings.Contains(log, secret) || strings.Contains(log, supervisorToken) {
			t.Error("the log holds the discovery secret or SUPERVISOR_TOKEN")
		}
	}
}

// waitDiscovery waits for the add-on's one discovery message and the log
// line saying it was accepted.
func waitDiscovery(t *testing.T, ha *simhome.Server, b *bridgeProc) simhome.DiscoveryMessage {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		msgs := ha.Discovery()
		if len(msgs) > 1 {
			t.Fatalf("%d discovery messages, want 1", len(msgs))
		}
		if len(msgs) == 1 && strings.Contains(b.stderr.String(), "offered to Home Assistant's MCP integration") {
			if msgs[0].Service != "mcp" {
				t.Fatalf("discovery service %q, want mcp", msgs[0].Service)
			}
			if _, ok := msgs[0].Config["url"].(string); !ok || len(msgs[0].Config) != 1 {
				t.Fatalf("discovery config has keys %v, want url alone", keys(msgs[0].Config))
			}
			return msgs[0]
		}
	}
	t.Fatalf("no discovery message accepted; log:\n%s", b.stderr.String())
	return simhome.DiscoveryMessage{}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestServeAddonDiscoveryRefused: a Supervisor that refuses the message
// (the service not listed in config.yaml) leaves the bridge running, with
// one error in the log and no retry.
func TestServeAddonDiscoveryRefused(t *testing.T) {
	supervisorToken := randomToken("supervisor-")
	ha := simhome.NewServer(t, simhome.Options{Token: supervisorToken})
	ha.SetDiscoveryServices("something_else")
	options := filepath.Join(t.TempDir(), "options.json")
	writeFile(t, options, `{"pool_min_sessions": 1, "pool_max_sessions": 1}`)
	b := startBridge(t, map[string]string{envSupervisorToken: supervisorToken, envSupervisorURL: ha.URL(),
		envOptions: options, envData: t.TempDir()})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(b.stderr.String(), "refused the discovery message") &&
		time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(b.stderr.String(), "Add-ons must list services they provide via discovery") {
		t.Fatalf("the log does not give the Supervisor's reason:\n%s", b.stderr.String())
	}
	if a := b.send(t, hreq{method: "POST", path: "/mcp", body: initBody, token: b.token}); a.status != 200 {
		t.Errorf("the bridge does not serve after the refusal: %d", a.status)
	}
	if n := len(ha.Discovery()); n != 0 {
		t.Errorf("%d discovery messages held, want 0", n)
	}
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))
}
