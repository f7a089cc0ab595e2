package simhome

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
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
	mux.HandleFunc("POST /discovery", s.postDiscovery)
	mux.HandleFunc("DELETE /discovery/{uuid}", s.deleteDiscovery)
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

// DiscoveryMessage is a message an add-on sent to the Supervisor's
// discovery API (POST /discovery): the service it offers (an integration's
// domain) and the configuration handed to that integration.
type DiscoveryMessage struct {
	UUID    string
	Service string
	Config  map[string]any
}

// SetDiscoveryServices sets the services the add-on lists under discovery
// in its config.yaml; the Supervisor refuses (403) a message for any other.
// By default every service is accepted.
func (s *Server) SetDiscoveryServices(services ...string) {
	s.discoveryMu.Lock()
	defer s.discoveryMu.Unlock()
	s.discoveryServices = slices.Clone(services)
}

// Discovery returns the discovery messages the Supervisor holds.
func (s *Server) Discovery() []DiscoveryMessage {
	s.discoveryMu.Lock()
	defer s.discoveryMu.Unlock()
	return slices.Clone(s.discovery)
}

// supervisorAuth checks the add-on's SUPERVISOR_TOKEN as the Supervisor's
// security middleware does (Authorization: Bearer, or X-Supervisor-Token).
func (s *Server) supervisorAuth(w http.ResponseWriter, r *http.Request) bool {
	token := r.Header.Get("X-Supervisor-Token")
	if auth := r.Header.Get("Authorization"); token == "" && len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
		token = auth[7:]
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		writeText(w, http.StatusUnauthorized, "401: Unauthorized")
		return false
	}
	return true
}

// supervisorResult and supervisorError write the Supervisor's api_process
// envelopes.
func supervisorResult(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"result": "ok", "data": data})
}

func supervisorError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"result": "error", "message": message, "data": map[string]any{}})
}

// postDiscovery models the Supervisor's set_discovery: the body must be
// {"service": str, "config": dict} (voluptuous, extra keys refused), the
// service must be listed in the add-on's config. As the Supervisor's
// Discovery.send does, the add-on has one message per service: sent again,
// it keeps its uuid, and a new config replaces the old one in it (Home
// Assistant's flow, whose unique id is the uuid, then updates its entry).
func (s *Server) postDiscovery(w http.ResponseWriter, r *http.Request) {
	if !s.supervisorAuth(w, r) {
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		supervisorError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	var msg DiscoveryMessage
	for k, v := range body {
		switch k {
		case "service":
			if json.Unmarshal(v, &msg.Service) != nil {
				supervisorError(w, http.StatusBadRequest, "expected str for dictionary value @ data['service']. Got "+string(v))
				return
			}
		case "config":
			if json.Unmarshal(v, &msg.Config) != nil || msg.Config == nil {
				supervisorError(w, http.StatusBadRequest, "expected dict for dictionary value @ data['config']. Got "+string(v))
				return
			}
		default:
			supervisorError(w, http.StatusBadRequest, "extra keys not allowed @ data['"+k+"']. Got "+string(v))
			return
		}
	}
	if _, ok := body["service"]; !ok {
		supervisorError(w, http.StatusBadRequest, "required key not provided @ data['service']. Got None")
		return
	}
	if _, ok := body["config"]; !ok {
		supervisorError(w, http.StatusBadRequest, "required key not provided @ data['config']. Got None")
		return
	}
	s.discoveryMu.Lock()
	defer s.discoveryMu.Unlock()
	if s.discoveryServices != nil && !slices.Contains(s.discoveryServices, msg.Service) {
		supervisorError(w, http.StatusForbidden, "Add-ons must list services they provide via discovery in their config!")
		return
	}
	for i, m := range s.discovery {
		if m.Service != msg.Service {
			continue
		}
		if !jsonEqual(m.Config, msg.Config) {
			s.discovery[i].Config = msg.Config // updated in place: the uuid stays
		}
		supervisorResult(w, map[string]any{"uuid": m.UUID})
		return
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	msg.UUID = hex.EncodeToString(id[:])
	s.discovery = append(s.discovery, msg)
	supervisorResult(w, map[string]any{"uuid": msg.UUID})
}

// deleteDiscovery models del_discovery.
func (s *Server) deleteDiscovery(w http.ResponseWriter, r *http.Request) {
	if !s.supervisorAuth(w, r) {
		return
	}
	s.discoveryMu.Lock()
	defer s.discoveryMu.Unlock()
	i := slices.IndexFunc(s.discovery, func(m DiscoveryMessage) bool { return m.UUID == r.PathValue("uuid") })
	if i < 0 {
		supervisorError(w, http.StatusNotFound, "Discovery message not found")
		return
	}
	s.discovery = slices.Delete(s.discovery, i, i+1)
	supervisorResult(w, map[string]any{})
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
