package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// apiTokenFile is the name, in the data folder, of the API token generated
// for an add-on started without api_token.
const apiTokenFile = "api_token"

// maxTokenFileBytes bounds what is read from the token file: a token is 64
// characters, and a stray big file must not be read whole.
const maxTokenFileBytes = 4096

// ensureAPIToken gives an add-on started without api_token the token kept
// in its data folder, generating it at the first start, so that port 3003
// is usable without the user choosing a secret and stays closed to anyone
// who cannot read the folder or see the Ingress page. It sets
// cfg.Bridge.APIToken and cfg.apiTokenFile, and logs where the token is,
// never the token. It does nothing outside the add-on or with a token set.
func ensureAPIToken(cfg *Config, log zerolog.Logger) error {
	if cfg.Mode != ModeAddon || cfg.Bridge.APIToken != "" {
		return nil
	}
	path := filepath.Join(cfg.Bridge.DataDir, apiTokenFile)
	token, created, err := loadOrCreateToken(path)
	if err != nil {
		return fmt.Errorf("api_token is not set and the generated token cannot be used: %w", err)
	}
	cfg.Bridge.APIToken, cfg.apiTokenFile = token, path
	log.Info().Str("file", path).Bool("new", created).
		Msgf("api_token not set: using the generated token in %s (shown on the Ingress page)", path)
	return nil
}

// loadOrCreateToken returns the token kept in path, or generates one and
// writes it there (created is then true). The file is the user's to read
// only: its mode is set to 0600 if it was wider. A file that does not hold
// a usable token is an error naming the file, not a reason to replace it:
// the user may have put it there.
func loadOrCreateToken(path string) (token string, created bool, err error) {
	token, err = readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		token, err = newToken()
		if err != nil {
			return "", false, err
		}
		if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
			return "", false, fmt.Errorf("saving the generated API token: %w", err)
		}
		return token, true, nil
	}
	return token, false, err
}

// readToken reads a token file: one line, no white space inside, at least
// minTokenLength characters.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return "", fmt.Errorf("%s is readable by others and its mode cannot be set to 0600: %w", path, err)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	token := strings.TrimRight(string(data), "\r\n")
	switch {
	case len(data) > maxTokenFileBytes:
		return "", fmt.Errorf("%s is larger than %d bytes; %s", path, maxTokenFileBytes, fixTokenFile)
	case token == "":
		return "", fmt.Errorf("%s is empty; %s", path, fixTokenFile)
	case strings.ContainsAny(token, " \t\r\n\v\f"):
		return "", fmt.Errorf("%s holds white space or several lines; %s", path, fixTokenFile)
	case len(token) < minTokenLength:
		return "", fmt.Errorf("%s holds a token of %d characters, fewer than %d; %s", path, len(token), minTokenLength, fixTokenFile)
	}
	return token, nil
}

// fixTokenFile tells the user how to get out of a bad token file.
const fixTokenFile = "delete it to have a new token generated, or set api_token in the add-on options"

// newToken returns 32 random bytes in hex: 64 characters, like
// `openssl rand -hex 32`, which DOCS.md suggests for api_token.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil { // never fails on Linux; kept for the contract
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, synced and renamed over path, so that a crash leaves either no
// file or the whole one, never a truncated token.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
