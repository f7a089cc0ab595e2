package main

import (
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPrintConfigRedacts(t *testing.T) {
	c := mustLoad(t, setup{
		env: standalone(map[string]string{envHassToken: "ha-secret-token", envToken: "api-secret-token-123",
			envRedisURL: "rediss://user:redis-secret@cache:6380/1"}),
		yaml: "session_pool:\n  env:\n    GITHUB_TOKEN: child-secret\n",
	})
	var buf bytes.Buffer
	if err := printConfig(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"ha-secret-token", "api-secret-token-123", "redis-secret", "child-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("printed configuration contains %q:\n%s", secret, out)
		}
	}
	var printed Config
	if err := yaml.Unmarshal(buf.Bytes(), &printed); err != nil {
		t.Fatalf("printed configuration is not YAML: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"home_assistant.token", printed.HomeAssistant.Token, redacted},
		{"bridge.api_token", printed.Bridge.APIToken, redacted},
		{"cache.levels.l2.url", printed.Cache.Levels.L2.URL, "rediss://user:" + redacted + "@cache:6380/1"},
		{"session_pool.env.GITHUB_TOKEN", printed.SessionPool.Env["GITHUB_TOKEN"], redacted},
		{"home_assistant.rest_url", printed.HomeAssistant.RESTURL, "http://ha.local:8123/api"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	// Redacting must not touch the configuration in use.
	if c.HomeAssistant.Token != "ha-secret-token" || c.SessionPool.Env["GITHUB_TOKEN"] != "child-secret" {
		t.Error("Redacted modified the original configuration")
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"redis://localhost:6379", "redis://localhost:6379"},
		{"redis://:pw@localhost:6379/0", "redis://:" + redacted + "@localhost:6379/0"},
		{"redis://user@localhost", "redis://user@localhost"},
		{"redis://:p w@%zz", redacted},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
