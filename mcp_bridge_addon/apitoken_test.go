package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestLoadOrCreateToken generates a token at the first start, keeps it to
// the owner (0600), and reads the same one back at the next start.
func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-yet", apiTokenFile) // the folder is made too
	token, created, err := loadOrCreateToken(path)
	if err != nil || !created {
		t.Fatalf("first start: created %v, err %v; want a new token", created, err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
		t.Errorf("token %q is not 32 random bytes in hex", token)
	}
	if got := fileMode(t, path); got != 0o600 {
		t.Errorf("token file mode = %o, want 600", got)
	}
	if data, _ := os.ReadFile(path); string(data) != token+"\n" {
		t.Errorf("token file holds %q, want the token and a newline", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("data folder holds %d entries, want only the token file (no temporary file left)", len(entries))
	}

	again, created, err := loadOrCreateToken(path)
	if err != nil || created || again != token {
		t.Errorf("second start: %q, created %v, err %v; want the same token, not created", again, created, err)
	}
	if other, _, _ := loadOrCreateToken(filepath.Join(t.TempDir(), apiTokenFile)); other == token {
		t.Error("two data folders got the same token")
	}
}

// TestLoadTokenFixesMode reads a token file that others could read, and
// takes their access away.
func TestLoadTokenFixesMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), apiTokenFile)
	writeFile(t, path, "my-own-token-0123456789\r\n")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	token, created, err := loadOrCreateToken(path)
	if err != nil || created || token != "my-own-token-0123456789" {
		t.Fatalf("got %q, created %v, err %v; want the file's token", token, created, err)
	}
	if got := fileMode(t, path); got != 0o600 {
		t.Errorf("token file mode = %o after reading, want 600", got)
	}
}

// TestLoadTokenInvalid refuses a token file that holds no usable token,
// naming the file and the way out, and leaves the file alone.
func TestLoadTokenInvalid(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "is empty"},
		{"only a newline", "\n", "is empty"},
		{"space inside", "abcdefgh ijklmnopqrstuvwxyz", "white space"},
		{"two lines", "abcdefghijklmnopqrstuvwxyz\nabcdefghijklmnopqrstuvwxyz\n", "white space"},
		{"too short", "short", "fewer than 16"},
		{"too large", strings.Repeat("a", maxTokenFileBytes+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), apiTokenFile)
			writeFile(t, path, tt.content)
			_, _, err := loadOrCreateToken(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), "delete it") {
				t.Errorf("err = %v; want one naming %s, saying %q and how to fix it", err, path, tt.want)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("the file was changed to %q", data)
			}
		})
	}
	t.Run("a folder", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), apiTokenFile)
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v; want not a regular file", err)
		}
	})
	t.Run("unwritable folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes anywhere")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o700)
		if _, _, err := loadOrCreateToken(filepath.Join(dir, apiTokenFile)); err == nil || !strings.Contains(err.Error(), "saving") {
			t.Errorf("err = %v; want an error saving the token", err)
		}
	})
}

// TestEnsureAPIToken generates a token only in add-on mode without
// api_token, and logs where it is, never what it is.
func TestEnsureAPIToken(t *testing.T) {
	tests := []struct {
		name, mode, token string
		generated         bool
	}{
		{"add-on without a token", ModeAddon, "", true},
		{"add-on with a token", ModeAddon, "user-chosen-token-0123", false},
		{"standalone without a token", ModeStandalone, "", false},
		{"demo without a token", ModeDemo, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig(tt.mode)
			cfg.Bridge.DataDir, cfg.Bridge.APIToken = t.TempDir(), tt.token
			var log bytes.Buffer
			if err := ensureAPIToken(&cfg, zerolog.New(&log)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(cfg.Bridge.DataDir, apiTokenFile)
			_, statErr := os.Stat(path)
			if got := statErr == nil; got != tt.generated {
				t.Errorf("token file exists: %v, want %v", got, tt.generated)
			}
			if !tt.generated {
				if cfg.Bridge.APIToken != tt.token || cfg.apiTokenFile != "" || log.Len() != 0 {
					t.Errorf("token %q, file %q, log %q; want everything unchanged", cfg.Bridge.APIToken, cfg.apiTokenFile, log.String())
				}
				return
			}
			if data, _ := os.ReadFile(path); cfg.Bridge.APIToken == "" || string(data) != cfg.Bridge.APIToken+"\n" || cfg.apiTokenFile != path {
				t.Errorf("token %q, file %q holding %q; want the file's token", cfg.Bridge.APIToken, cfg.apiTokenFile, data)
			}
			want := "api_token not set: using the generated token in " + path + " (shown on the Ingress page)"
			if !strings.Contains(log.String(), want) || strings.Contains(log.String(), cfg.Bridge.APIToken) {
				t.Errorf("log %q; want %q and not the token", log.String(), want)
			}
			if hc := httpConfig(&cfg, nil, zerolog.Nop()); !hc.ShowAPIToken || hc.APIToken != cfg.Bridge.APIToken {
				t.Errorf("httpConfig: ShowAPIToken %v; want the generated token shown on the Ingress page", hc.ShowAPIToken)
			}
		})
	}
	t.Run("bad token file", func(t *testing.T) {
		cfg := defaultConfig(ModeAddon)
		cfg.Bridge.DataDir = t.TempDir()
		writeFile(t, filepath.Join(cfg.Bridge.DataDir, apiTokenFile), "short\n")
		err := ensureAPIToken(&cfg, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "api_token is not set") || cfg.Bridge.APIToken != "" {
			t.Errorf("err = %v, token %q; want an error and no token", err, cfg.Bridge.APIToken)
		}
	})
}
