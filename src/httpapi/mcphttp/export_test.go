package mcphttp

// SetFastPath turns the fast path (fastcall.go) on or off, so that tests
// can compare its answers with the SDK's.
func SetFastPath(h *Handler, on bool) { h.fastOn.Store(on) }

// FastCalls is the number of calls the fast path answered.
func FastCalls(h *Handler) int64 { return h.fastCalls.Load() }

// SessionKnown reports whether the session table holds the session id.
func SessionKnown(h *Handler, id string) bool { return h.sessions.get(id) != nil }
