package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/gin-gonic/gin"
)

// refuseWebPages keeps web pages in the user's browser from using a
// loopback listener that asks for no token: the main API without one
// (which then listens on loopback only) and the Ingress port outside the
// add-on. A listener with a token needs no such check: a page cannot
// attach the token, and proxies on the same machine that pass on the
// public Host keep working. A page reaches loopback in
// two ways: a cross-site request, which names the page in Origin (a
// text/plain POST needs no CORS preflight, so refusing to answer is not
// enough: the call would already have run), and DNS rebinding, where the
// page's own host name resolves to 127.0.0.1 and Host names it. Both get
// 403 before any handler runs. Local programs send no Origin, or a
// localhost one, and a loopback Host. Requests from other addresses are
// left to the token, which a page cannot attach, and on Ingress to Home
// Assistant (the Supervisor is never a loopback peer). The health path is
// exempt: it reveals nothing and changes nothing.
func (s *Server) refuseWebPages(c *gin.Context) {
	r := c.Request
	if r.URL.Path == s.cfg.HealthPath || !onLoopback(r) {
		c.Next()
		return
	}
	if !loopbackHost(r.Host) {
		writeError(c, http.StatusForbidden, CodeForbidden, fmt.Sprintf(
			"Host %q is not this machine; use 127.0.0.1 or localhost (a web page may be trying DNS rebinding)", r.Host))
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !loopbackOrigin(o) {
		writeError(c, http.StatusForbidden, CodeForbidden, fmt.Sprintf(
			"origin %q is not allowed: web pages may not use the bridge", o))
		return
	}
	c.Next()
}

// onLoopback reports whether r arrived on a loopback address.
func onLoopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// loopbackHost reports whether a Host header (host[:port]) names this
// machine: localhost or a loopback address.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(trimBrackets(host))
	return err == nil && addr.Unmap().IsLoopback()
}

// loopbackOrigin reports whether origin is a page served from this machine.
func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && loopbackHost(u.Host)
}

func trimBrackets(s string) string {
	if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
}
