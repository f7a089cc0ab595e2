package mcphttp

import (
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// sseByOwner serves HTTP+SSE with one SDK handler per principal. The SDK
// binds a Streamable HTTP session to the principal that opened it
// (auth.TokenInfo.UserID: another gets 403) but not an HTTP+SSE session: a
// client that learnt another's session id could post into it and call
// tools as them. Each handler keeps its own sessions, so a session id is
// unknown (404) to every principal but its owner. Principals are few (the
// API token's holder, Home Assistant's users on Ingress, or anonymous), so
// the handlers are kept for the Handler's life. Safe for concurrent use.
type sseByOwner struct {
	newHandler func() http.Handler

	mu     sync.Mutex // guards byUser
	byUser map[string]http.Handler
}

func (s *sseByOwner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := ""
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		user = ti.UserID
	}
	s.handler(user).ServeHTTP(w, r)
}

func (s *sseByOwner) handler(user string) http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.byUser[user]
	if !ok {
		if s.byUser == nil {
			s.byUser = map[string]http.Handler{}
		}
		h = s.newHandler()
		s.byUser[user] = h
	}
	return h
}
