package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerTransport adds the API token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the Go SDK client to url (Streamable HTTP, or SSE
// when the path ends in /sse) in the given protocol version.
func mcpSession(t *testing.T, url, token, version string) *mcp.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: bearerTransport{token}}
	var tr mcp.Transport = &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}
	if strings.HasSuffix(url, "/sse") {
		tr = &mcp.SSEClientTransport{Endpoint: url, HTTPClient: hc}
	}
	// The SSE transport's stream lives as long as Connect's ctx.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connecting to %s (%s): %v", url, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// TestServeMCPOverHTTP runs the real binary on the simulated home and uses
// our own tools through MCP over HTTP, on the host port with the token
// (Streamable HTTP in both eras, SSE) and through the Ingress port as Home
// Assistant's proxy would reach it.
func TestServeMCPOverHTTP(t *testing.T) {
	ingressPort := freePort(t)
	b := startBridge(t, map[string]string{envIngressPort: strconv.Itoa(ingressPort)}, "--demo")
	b.waitSessions(t)
	ingress := fmt.Sprintf("http://127.0.0.1:%d", ingressPort)
	for _, tc := range []struct{ name, url, token, version string }{
		{"streamable-2025", b.base + "/mcp", b.token, "2025-11-25"},
		{"streamable-2026", b.base + "/mcp", b.token, "2026-07-28"},
		{"sse", b.base + "/sse", b.token, "2024-11-05"},
		{"ingress-streamable", ingress + "/mcp", "", "2025-11-25"},
		{"ingress-sse", ingress + "/sse", "", "2024-11-05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := mcpSession(t, tc.url, tc.token, tc.version)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			if len(tools.Tools) < 10 {
				t.Fatalf("tools/list: %d tools", len(tools.Tools))
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_entity_state", Arguments: map[string]any{"entity_id": "light.kitchen_spots"}})
			if err != nil || res.IsError {
				t.Fatalf("get_entity_state: %v %+v", err, res)
			}
			if got := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(got, "light.kitchen_spots") {
				t.Errorf("get_entity_state answered %q", got)
			}
		})
	}
	t.Run("host port needs the token", func(t *testing.T) {
		resp, err := http.Post(b.base+"/mcp", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("POST /mcp without a token: %s; want 401 with WWW-Authenticate", resp.Status)
		}
	})
	t.Run("ingress REST", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, ingress+"/mcp/tools/call", strings.NewReader(`{"name":"get_entity_state","arguments":{"entity_id":"light.kitchen_spots"}}`))
		req.Header.Set("X-Remote-User-Id", "0123abcd")
		req.Header.Set("X-Ingress-Path", "/api/hassio_ingress/xyz")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "light.kitchen_spots") {
			t.Errorf("ingress tools/call: %s %.300s", resp.Status, body)
		}
	})
	b.stopAndCheckChildren(t, children(t, b.cmd.Process.Pid))
}
