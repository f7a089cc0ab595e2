package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// PathCredential admits, on the main API, a client that cannot send an
// Authorization header but is given a URL: Home Assistant's MCP
// integration, which connects to the URL an add-on announces through the
// Supervisor's discovery and sends no header of its own. A request to
// Prefix + Token + P, for P in Paths, is served as P, authenticated as
// Principal. The token is a secret like the API token: compared in
// constant time, never logged (request logs name the route, not the path),
// and a wrong one counts against the client address's failed
// authentications.
type PathCredential struct {
	Prefix    string   // starts and ends with "/", e.g. "/hass/"
	Token     string   // at least 32 characters of [A-Za-z0-9_-]
	Principal string   // who the requests are from, e.g. "home-assistant"
	Paths     []string // the routes served under the prefix, e.g. "/mcp"
}

// Check reports whether the credential can be served.
func (pc *PathCredential) Check() error {
	if pc == nil {
		return nil
	}
	var errs []error
	if len(pc.Prefix) < 2 || !strings.HasPrefix(pc.Prefix, "/") || !strings.HasSuffix(pc.Prefix, "/") {
		errs = append(errs, errors.New("httpapi: PathCredential.Prefix must start and end with /"))
	}
	if len(pc.Token) < 32 || strings.IndexFunc(pc.Token, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		errs = append(errs, errors.New("httpapi: PathCredential.Token must be at least 32 characters of A-Z, a-z, 0-9, - and _"))
	}
	if pc.Principal == "" {
		errs = append(errs, errors.New("httpapi: PathCredential.Principal is required"))
	}
	if len(pc.Paths) == 0 {
		errs = append(errs, errors.New("httpapi: PathCredential.Paths is required"))
	}
	return errors.Join(errs...)
}

type (
	pathPrincipalKey struct{}
	pathGuessKey     struct{}
)

// PathPrincipal returns the PathCredential principal a request was
// authenticated as, or "" when it came without one.
func PathPrincipal(r *http.Request) string {
	p, _ := r.Context().Value(pathPrincipalKey{}).(string)
	return p
}

// pathGuess reports whether r came under the credential's prefix with a
// wrong token: a failed authentication, counted like a wrong bearer token.
func pathGuess(r *http.Request) bool {
	g, _ := r.Context().Value(pathGuessKey{}).(bool)
	return g
}

// withPathCredential serves Prefix+Token+P as P for the credential's
// principal. Any other request goes on unchanged, so that the bearer check
// answers it (401) as it answers every request without a token; one with a
// wrong token under the prefix is marked (pathGuess) so that the check
// counts it against the client's failed authentications.
func withPathCredential(pc *PathCredential, next http.Handler) http.Handler {
	if pc == nil {
		return next
	}
	want := sha256.Sum256([]byte(pc.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, pc.Prefix)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		secret, path, _ := strings.Cut(rest, "/")
		path = "/" + path
		sum := sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pathGuessKey{}, true)))
			return
		}
		if !slices.Contains(pc.Paths, path) {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), pathPrincipalKey{}, pc.Principal))
		u := *r.URL
		u.Path, u.RawPath = path, ""
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
		next.ServeHTTP(w, r2)
	})
}
