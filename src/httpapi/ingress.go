package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// SupervisorAddr is the address from which the Home Assistant Supervisor
// proxies Ingress requests; in add-on mode it is the only client the Ingress
// port accepts.
var SupervisorAddr = netip.MustParseAddr("172.30.32.2")

//go:embed status.html.tmpl
var statusPageSource string

var statusPage = template.Must(template.New("status").Parse(statusPageSource))

// allowOnly refuses, with 403, requests whose peer address is not in allowed
// (or loopback, when allowLoopback is set). It looks only at the TCP peer,
// never at X-Forwarded-For: the Supervisor is the peer.
func allowOnly(allowed []netip.Addr, allowLoopback bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		ap, err := netip.ParseAddrPort(c.Request.RemoteAddr)
		if err == nil {
			addr := ap.Addr().Unmap()
			if allowLoopback && addr.IsLoopback() {
				c.Next()
				return
			}
			for _, a := range allowed {
				if addr == a.Unmap() {
					c.Next()
					return
				}
			}
		}
		writeError(c, http.StatusForbidden, CodeForbidden, "this port only serves Home Assistant Ingress")
	}
}

// statusView is what the status page shows.
type statusView struct {
	Version string
	Mode    string
	Uptime  string
	Health  Health
	HA      DependencyHealth
	// Sessions is set when the bridge runs MCP sessions (SessionChecker).
	Sessions *DependencyHealth
	// APIToken is set when Config.ShowAPIToken is.
	APIToken string
}

// handleStatusPage renders the Ingress status page. It is self-contained (no
// external assets, no absolute links) because Ingress serves it under a path
// prefix chosen by the Supervisor.
func (s *Server) handleStatusPage(c *gin.Context) {
	h := s.health.check(c.Request.Context())
	view := statusView{
		Version: s.cfg.Version,
		Mode:    s.cfg.Mode,
		Uptime:  s.health.now().Sub(s.started).Truncate(time.Second).String(),
		Health:  h,
		HA:      h.Dependencies["home_assistant"],
	}
	if sessions, ok := h.Dependencies["mcp_sessions"]; ok {
		view.Sessions = &sessions
	}
	if s.cfg.ShowAPIToken {
		view.APIToken = s.cfg.APIToken
	}
	var buf bytes.Buffer
	if err := statusPage.Execute(&buf, view); err != nil {
		s.log.Error().Err(err).Msg("rendering status page")
		writeError(c, http.StatusInternalServerError, CodeInternal, "internal error")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// IngressUser names the Home Assistant user of a request that came through
// Ingress, from the headers the Supervisor's proxy sets (and a client
// cannot, since only the Supervisor reaches the Ingress port): "ha:<user
// id>", or "ha" when they are absent. It is "" for a request that did not
// come through the Ingress port's address check.
func IngressUser(r *http.Request) string {
	if r.Context().Value(ingressKey{}) == nil {
		return ""
	}
	if id := r.Header.Get("X-Remote-User-Id"); id != "" && len(id) <= 64 {
		return "ha:" + id
	}
	return "ha"
}

// IngressUserName returns the display name (else the user name) of the
// Home Assistant user whose request, through the Ingress port, ctx
// belongs to, from the headers the Supervisor's proxy sets; "" for any
// other request. It is for showing (the audit log, the dashboard), not
// for deciding: IngressUser is the identity.
func IngressUserName(ctx context.Context) string {
	r, _ := ctx.Value(ingressKey{}).(*http.Request)
	if r == nil {
		return ""
	}
	for _, h := range []string{"X-Remote-User-Display-Name", "X-Remote-User-Name"} {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" && len(v) <= 128 && utf8.ValidString(v) {
			return v
		}
	}
	return ""
}

// ingressKey marks, in a request's context, that it passed the Ingress
// port's address check; its value is the request (for its headers).
type ingressKey struct{}

// markIngress records that the request came through the Ingress port.
func markIngress(c *gin.Context) {
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), ingressKey{}, c.Request))
	c.Next()
}
