package simhome

import (
	"net/http"
	"strings"
)

// supervisorRoutes models the Supervisor's Home Assistant proxy, through
// which an add-on reaches Home Assistant: the REST API under /core/api/
// (GET, POST and DELETE only) and the WebSocket at /core/websocket, both
// with the add-on's SUPERVISOR_TOKEN (here the server's token). An add-on
// under test sets SUPERVISOR_URL to URL().
func (s *Server) supervisorRoutes(mux *http.ServeMux, ha http.Handler) {
	forward := func(path string, w http.ResponseWriter, r *http.Request) {
		s.supervisorRequests.Add(1)
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = path, ""
		ha.ServeHTTP(w, r2)
	}
	mux.HandleFunc("GET /core/websocket", func(w http.ResponseWriter, r *http.Request) {
		forward("/api/websocket", w, r)
	})
	mux.HandleFunc("/core/api/", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodDelete:
			forward(strings.TrimPrefix(r.URL.Path, "/core"), w, r)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			writeText(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
		}
	})
}

// SupervisorRequests returns how many requests came through the modelled
// Supervisor proxy (/core/api/ and /core/websocket).
func (s *Server) SupervisorRequests() int64 { return s.supervisorRequests.Load() }
