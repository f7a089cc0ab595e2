package simhome

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxBodySize bounds request bodies, like aiohttp's client_max_size.
const maxBodySize = 16 << 20

// routes builds the HTTP handler: the WebSocket endpoint (authenticated in
// band), the REST API (Bearer token), and both again through the modelled
// Supervisor proxy.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/websocket", s.serveWebSocket)
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.rest(h)) }
	api("GET /api/{$}", func(w http.ResponseWriter, r *http.Request) { writeMessage(w, http.StatusOK, "API running.") })
	api("GET /api/config", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.configDict()) })
	api("GET /api/components", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.configDict()["components"])
	})
	api("GET /api/states", s.getStates)
	api("/api/states/{entity_id}", s.entityState)
	api("GET /api/services", s.getServices)
	api("POST /api/services/{domain}/{service}", s.postService)
	api("GET /api/events", s.getEvents)
	api("POST /api/events/{event_type}", s.postEvent)
	api("POST /api/template", s.postTemplate)
	api("GET /api/history/period", s.getHistory)
	api("GET /api/history/period/{start...}", s.getHistory)
	api("GET /api/logbook", s.getLogbook)
	api("GET /api/logbook/{start...}", s.getLogbook)
	api("/api/config/automation/config/{id}", s.automationConfig)
	mux.Handle("/", s.rest(func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusNotFound, "404: Not Found")
	}))
	top := http.NewServeMux()
	s.supervisorRoutes(top, mux)
	top.Handle("/", mux)
	return top
}

// rest wraps a REST handler: the latency knob, then the Bearer token check
// of Home Assistant's auth middleware.
func (s *Server) rest(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.wait(r.Context()) != nil {
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
			writeText(w, http.StatusUnauthorized, "401: Unauthorized")
			return
		}
		s.count(r.Pattern)
		h(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "500 Internal Server Error\n\nServer got itself in trouble")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeMessage is HomeAssistantView.json_message.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// writeText answers like an aiohttp HTTPException.
func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func writeMethodNotAllowed(w http.ResponseWriter) {
	writeText(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, maxBodySize))
}

func (s *Server) getStates(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := statesJSON(s.w.allStatesLocked())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// entityState handles GET, POST and DELETE /api/states/<entity_id>.
func (s *Server) entityState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("entity_id")
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		st, ok := s.w.states[id]
		s.mu.Unlock()
		if !ok {
			writeMessage(w, http.StatusNotFound, "Entity not found.")
			return
		}
		writeJSON(w, http.StatusOK, st)
	case http.MethodPost:
		s.postState(w, r, id)
	case http.MethodDelete:
		s.mu.Lock()
		var b batch
		ok := s.w.removeLocked(&b, id, s.clock())
		b.flush()
		s.mu.Unlock()
		if !ok {
			writeMessage(w, http.StatusNotFound, "Entity not found.")
			return
		}
		writeMessage(w, http.StatusOK, "Entity removed.")
	default:
		writeMethodNotAllowed(w)
	}
}

func (s *Server) postState(w http.ResponseWriter, r *http.Request, id string) {
	body, err := readBody(r)
	v, derr := decodeJSON(body)
	data, ok := v.(map[string]any)
	if err != nil || derr != nil || !ok {
		writeMessage(w, http.StatusBadRequest, "Invalid JSON specified.")
		return
	}
	if !validEntityID(id) {
		writeMessage(w, http.StatusBadRequest, "Invalid entity ID specified.")
		return
	}
	state, ok := data["state"]
	if !ok || state == nil {
		writeMessage(w, http.StatusBadRequest, "No state specified.")
		return
	}
	attrs, _ := data["attributes"].(map[string]any)
	force, _ := data["force_update"].(bool)
	s.mu.Lock()
	_, existed := s.w.states[id]
	now := s.clock()
	var b batch
	st, _ := s.w.storeLocked(&b, id, pyStrOf(fromJSON(state)), attrs, s.w.userContextLocked(now), now, force)
	b.flush()
	s.mu.Unlock()
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/api/states/"+id)
	writeJSON(w, status, st)
}

// getServices is GET /api/services: [{"domain", "services"}].
func (s *Server) getServices(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	desc := s.w.serviceDescriptionsLocked()
	s.mu.Unlock()
	out := make([]any, 0, len(desc))
	for _, d := range sortedMapKeys(desc) {
		out = append(out, map[string]any{"domain": d, "services": desc[d]})
	}
	writeJSON(w, http.StatusOK, out)
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// postService is POST /api/services/<domain>/<service>: the states changed
// by the call, or with ?return_response {"changed_states", "service_response"}.
func (s *Server) postService(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	var data map[string]any
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		v, derr := decodeJSON(body)
		m, ok := v.(map[string]any)
		if derr != nil || (!ok && v != nil) {
			writeMessage(w, http.StatusBadRequest, "Data should be valid JSON.")
			return
		}
		data = m
	}
	req := serviceRequest{Domain: r.PathValue("domain"), Service: r.PathValue("service"), Data: data,
		ReturnResponse: r.URL.Query().Has("return_response")}
	s.mu.Lock()
	defer s.mu.Unlock()
	def, ok := s.w.serviceLocked(req.Domain, req.Service)
	if !ok {
		writeText(w, http.StatusBadRequest, "400: Bad Request")
		return
	}
	switch {
	case req.ReturnResponse && def.response == respNone:
		writeMessage(w, http.StatusBadRequest, "Service does not support responses. Remove return_response from request.")
		return
	case !req.ReturnResponse && def.response == respOnly:
		writeMessage(w, http.StatusBadRequest, "Service call requires responses but caller did not ask for responses. Add ?return_response to query parameters.")
		return
	}
	var b batch
	res, cerr := s.callServiceLocked(&b, req)
	b.flush()
	s.writeServiceResult(w, req, res, cerr)
}

func (s *Server) writeServiceResult(w http.ResponseWriter, req serviceRequest, res serviceResult, cerr *callError) {
	switch {
	case cerr != nil && (cerr.code == errInvalidFormat || cerr.code == errNotFound):
		writeText(w, http.StatusBadRequest, "400: Bad Request")
		return
	case cerr != nil:
		writeText(w, http.StatusInternalServerError, "500 Internal Server Error\n\nServer got itself in trouble")
		return
	}
	changed := res.changed
	if changed == nil {
		changed = []*entityState{}
	}
	if req.ReturnResponse {
		writeJSON(w, http.StatusOK, map[string]any{"changed_states": changed, "service_response": res.response})
		return
	}
	writeJSON(w, http.StatusOK, changed)
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	counts := map[string]int{}
	for _, sub := range s.w.subs {
		if sub.tmpl == nil {
			counts[sub.eventType]++
		} else {
			counts["state_changed"]++
		}
	}
	s.mu.Unlock()
	out := []any{}
	for _, k := range sortedMapKeys(counts) {
		out = append(out, map[string]any{"event": k, "listener_count": counts[k]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	et := r.PathValue("event_type")
	body, err := readBody(r)
	var data any = map[string]any{}
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		v, derr := decodeJSON(body)
		if derr != nil {
			writeMessage(w, http.StatusBadRequest, "Event data should be valid JSON.")
			return
		}
		if _, ok := v.(map[string]any); !ok && v != nil {
			writeMessage(w, http.StatusBadRequest, "Event data should be a JSON object")
			return
		}
		if v != nil {
			data = v
		}
	}
	s.mu.Lock()
	now := s.clock()
	var b batch
	s.w.fireLocked(&b, &event{Type: et, Data: data, TimeFired: now, Context: s.w.userContextLocked(now)})
	b.flush()
	s.mu.Unlock()
	writeMessage(w, http.StatusOK, "Event "+et+" fired.")
}

// postTemplate is POST /api/template: the rendered text (parse_result=False).
func (s *Server) postTemplate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	v, derr := decodeJSON(body)
	data, ok := v.(map[string]any)
	tpl, isStr := data["template"].(string)
	if err != nil || derr != nil || !ok || !isStr {
		writeMessage(w, http.StatusBadRequest, "Error rendering template: Invalid JSON or missing template")
		return
	}
	vars, _ := data["variables"].(map[string]any)
	s.mu.Lock()
	out, _, rerr := renderTemplate(&s.w, tpl, vars, false)
	s.mu.Unlock()
	if rerr != nil {
		writeMessage(w, http.StatusBadRequest, "Error rendering template: "+rerr.Error())
		return
	}
	writeText(w, http.StatusOK, out)
}
