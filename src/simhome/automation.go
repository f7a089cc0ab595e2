package simhome

import (
	"encoding/json"
	"net/http"
)

// automationStore is automations.yaml: configs by id, in file order.
type automationStore struct {
	order   []string
	configs map[string]map[string]any
}

func newAutomationStore(configs []map[string]any) *automationStore {
	st := &automationStore{configs: map[string]map[string]any{}}
	for _, c := range configs {
		n, err := normalizeJSON(c)
		m, ok := n.(map[string]any)
		id, _ := m["id"].(string)
		if err != nil || !ok || id == "" {
			continue
		}
		st.put(id, m)
	}
	return st
}

func (a *automationStore) put(id string, cfg map[string]any) {
	if _, ok := a.configs[id]; !ok {
		a.order = append(a.order, id)
	}
	a.configs[id] = cfg
}

func (a *automationStore) remove(id string) bool {
	if _, ok := a.configs[id]; !ok {
		return false
	}
	delete(a.configs, id)
	for i, e := range a.order {
		if e == id {
			a.order = append(a.order[:i:i], a.order[i+1:]...)
			break
		}
	}
	return true
}

// automationEntityLocked finds the entity of an automation config id.
func (w *world) automationEntityLocked(id string) string {
	for _, eid := range w.order {
		st := w.states[eid]
		if d, _, _ := splitEntityID(eid); d == "automation" && st.Attributes["id"] == id {
			return eid
		}
	}
	return ""
}

// reloadAutomationsLocked is automation.reload: every config gets its
// entity (created from the alias when new), entities of deleted configs go.
func (w *world) reloadAutomationsLocked(r *svcRun) {
	for _, eid := range append([]string(nil), w.order...) {
		st := w.states[eid]
		id, _ := st.Attributes["id"].(string)
		if d, _, _ := splitEntityID(eid); d == "automation" && id != "" && w.autos.configs[id] == nil {
			w.removeLocked(r.b, eid, r.now)
		}
	}
	for _, id := range w.autos.order {
		w.applyAutomationLocked(r, id, w.autos.configs[id])
	}
}

func (w *world) applyAutomationLocked(r *svcRun, id string, cfg map[string]any) {
	alias, _ := cfg["alias"].(string)
	if alias == "" {
		alias = id
	}
	mode, _ := cfg["mode"].(string)
	if mode == "" {
		mode = "single"
	}
	eid := w.automationEntityLocked(id)
	state, last := "on", any(nil)
	if eid == "" {
		eid = w.freeEntityIDLocked("automation", slugify(alias))
		if init, ok := cfg["initial_state"].(bool); ok && !init {
			state = "off"
		}
		w.reg.addEntity(Entity{ID: eid, Platform: "automation"})
	} else {
		state, last = w.states[eid].State, w.states[eid].Attributes["last_triggered"]
	}
	attrs := map[string]any{"id": id, "last_triggered": last, "mode": mode, "current": json.Number("0"), "friendly_name": alias}
	if mode == "queued" || mode == "parallel" {
		max := cfg["max"]
		if max == nil {
			max = json.Number("10")
		}
		attrs["max"] = max
	}
	r.set(eid, state, attrs)
}

// freeEntityIDLocked returns domain.object, or domain.object_2... when taken.
func (w *world) freeEntityIDLocked(domain, object string) string {
	id := domain + "." + object
	for i := 2; w.states[id] != nil; i++ {
		id = domain + "." + object + "_" + itoa(i)
	}
	return id
}

func itoa(i int) string { return string(jnum(float64(i))) }

// systemRunLocked is a service run that does not come from a call (a
// config write): it has the given user context.
func (s *Server) systemRunLocked(b *batch) *svcRun {
	now := s.clock()
	return &svcRun{w: &s.w, b: b, ctx: s.w.userContextLocked(now), now: now, domain: "automation", service: "reload"}
}

// automationConfig handles /api/config/automation/config/<id>.
func (s *Server) automationConfig(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		cfg, ok := s.w.autos.configs[id]
		s.mu.Unlock()
		if !ok {
			writeMessage(w, http.StatusNotFound, "Resource not found")
			return
		}
		writeJSON(w, http.StatusOK, cfg)
	case http.MethodPost:
		s.postAutomation(w, r, id)
	case http.MethodDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.w.autos.remove(id) {
			writeMessage(w, http.StatusNotFound, "Resource not found")
			return
		}
		var b batch
		s.w.reloadAutomationsLocked(s.systemRunLocked(&b))
		b.flush()
		writeJSON(w, http.StatusOK, map[string]any{"result": "ok"})
	default:
		writeMethodNotAllowed(w)
	}
}

func (s *Server) postAutomation(w http.ResponseWriter, r *http.Request, id string) {
	body, err := readBody(r)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Invalid JSON specified.")
		return
	}
	v, err := decodeJSON(body)
	cfg, ok := v.(map[string]any)
	if err != nil || !ok {
		writeMessage(w, http.StatusBadRequest, "Invalid JSON specified.")
		return
	}
	if err := validateAutomation(deepCopyMap(cfg)); err != nil {
		writeMessage(w, http.StatusBadRequest, "Message malformed: "+err.Error())
		return
	}
	stored := map[string]any{"id": id}
	for k, v := range cfg {
		if k != "id" {
			stored[k] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.autos.put(id, stored)
	var b batch
	s.w.reloadAutomationsLocked(s.systemRunLocked(&b))
	b.flush()
	writeJSON(w, http.StatusOK, map[string]any{"result": "ok"})
}
