package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Messages of the 401 answers. They tell the client what to do, never what
// the token should have been.
const (
	msgBadToken     = "missing or invalid bearer token"
	msgTokenMissing = "this API is disabled until api_token is set in the add-on options; then send it as Authorization: Bearer <token>"
)

// authenticate guards every route but the health path.
//
// With a token, requests must carry "Authorization: Bearer <token>". Without
// one, requireToken decides: true (add-on mode, where the port faces the LAN)
// refuses every request with a message saying api_token must be set; false
// (standalone, where the caller binds loopback only) lets requests through.
//
// A request that withPathCredential admitted needs no header. Failed
// authentications (a wrong token or scheme, or a wrong secret under a
// PathCredential prefix; not a missing header) are limited per client
// address (see authFailures): past the limit every request from the address
// gets 429 until the window ends, the PathCredential's included.
func authenticate(token string, requireToken bool, healthPath string, failures *authFailures) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		if c.Request.URL.Path == healthPath {
			c.Next()
			return
		}
		switch {
		case PathPrincipal(c.Request) != "": // authenticated by withPathCredential
			if !failures.blocked(c) { // refused whether right or wrong, as a bearer token is
				c.Next()
			}
		case pathGuess(c.Request): // a wrong secret in a PathCredential URL
			if !failures.blocked(c) {
				failures.failedWith(c, msgBadToken, "wrong secret in the URL path")
			}
		case token == "" && !requireToken:
			c.Next()
		case token == "":
			unauthorized(c, msgTokenMissing)
		case failures.blocked(c):
		case c.GetHeader("Authorization") == "":
			// No token guesses nothing, so it is not counted: clients probe
			// without one (mcp-remote asks /.well-known/... for OAuth
			// metadata before every start).
			unauthorized(c, msgBadToken)
		case !validBearer(c.GetHeader("Authorization"), want):
			failures.failed(c, msgBadToken)
		default:
			c.Next()
		}
	}
}

// validBearer compares the presented token with the configured one in
// constant time. Both are hashed first so that the comparison does not leak
// the token's length either.
func validBearer(header string, want [sha256.Size]byte) bool {
	scheme, got, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

func unauthorized(c *gin.Context, message string) {
	c.Header("WWW-Authenticate", `Bearer realm="mcp-bridge"`)
	writeError(c, http.StatusUnauthorized, CodeUnauthorized, message)
}
