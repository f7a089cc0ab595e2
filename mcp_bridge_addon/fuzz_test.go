package main

import (
	"os"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseConfigFile feeds arbitrary YAML to the file loader: it must never
// panic or hang, every error must name the file, and a file it accepts must
// apply cleanly.
func FuzzParseConfigFile(f *testing.F) {
	for _, seed := range []string{
		"",
		"queue:\n  max_size: 10\n",
		"queue:\n  max_sise: 10\n",
		"bridge: {port: 70000, host: '::'}\nlogging: {level: INFO}\n",
		"home_assistant:\n  url: http://ha:8123\n  token: t\n",
		"session_pool:\n  command: [a, b]\n  env: {A: b}\n",
		"base: &b {max_size: 1}\nqueue:\n  <<: *b\n",
		"a: &a [*a]\n",
		"x: &x [1]\ny: &y [*x, *x, *x, *x]\nz: [*y, *y, *y, *y]\n",
		"- 1\n- 2\n",
		"queue: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseConfigFile("fuzz.yaml", data)
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml: ") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		c := defaultConfig(ModeStandalone)
		if _, err := file.apply(&c); err != nil {
			t.Fatalf("accepted file fails to apply: %v", err)
		}
		_ = c.Validate()
	})
}

// FuzzParseOptions feeds arbitrary JSON to the add-on options loader.
func FuzzParseOptions(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"log_level":"info","api_token":"abc","read_only":true,"allowed_domains":["light"]}`,
		`{"log_level":5}`,
		`{"confirm_services":null,"unknown":1}`,
		`[`,
		`null`,
		`{"a":1} {"b":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, _, err := parseOptions("options.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "options.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		c := defaultConfig(ModeStandalone)
		opts.apply(&c, "options.json")
		_ = c.Validate()
	})
}
