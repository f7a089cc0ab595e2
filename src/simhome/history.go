package simhome

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// significantDomains record attribute-only changes as significant, and
// needAttributeDomains always answer full states (recorder.history).
var (
	significantDomains   = []string{"climate", "device_tracker", "humidifier", "thermostat", "water_heater"}
	needAttributeDomains = []string{"climate", "humidifier", "input_datetime", "thermostat", "water_heater"}
)

func sortStrings(l []string) { sort.Strings(l) }

// historyQuery is a parsed /api/history/period request.
type historyQuery struct {
	start, end      time.Time
	entityIDs       []string
	minimal         bool
	noAttributes    bool
	significantOnly bool
}

// parseHistoryQuery validates like HistoryPeriodView.get and returns the
// error message for a 400.
func (s *Server) parseHistoryQuery(r *http.Request) (historyQuery, string) {
	now := s.clock()
	q := historyQuery{start: now.Add(-24 * time.Hour)}
	if raw := r.PathValue("start"); raw != "" {
		unescaped, err := url.PathUnescape(raw)
		t, ok := parseISOTime(unescaped)
		if err != nil || !ok {
			return q, "Invalid datetime"
		}
		q.start = t
	}
	query := r.URL.Query()
	ids := query.Get("filter_entity_id")
	if ids == "" {
		return q, "filter_entity_id is missing"
	}
	for _, id := range strings.Split(strings.ToLower(ids), ",") {
		id = strings.TrimSpace(id)
		if !validEntityID(id) {
			return q, "Invalid filter_entity_id"
		}
		q.entityIDs = append(q.entityIDs, id)
	}
	q.end = q.start.Add(24 * time.Hour)
	if raw := query.Get("end_time"); raw != "" {
		t, ok := parseISOTime(raw)
		if !ok {
			return q, "Invalid end_time"
		}
		q.end = t
	}
	q.minimal = query.Has("minimal_response")
	q.noAttributes = query.Has("no_attributes")
	q.significantOnly = query.Get("significant_changes_only") != "0"
	return q, ""
}

// getHistory is GET /api/history/period[/<start>]: one list per entity
// with history, the first entry being the state at start.
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	q, problem := s.parseHistoryQuery(r)
	if problem != "" {
		writeMessage(w, http.StatusBadRequest, problem)
		return
	}
	out := []any{}
	if q.start.After(s.clock()) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range q.entityIDs {
		if rows := s.w.historyRowsLocked(id, q); len(rows) > 0 {
			out = append(out, rows)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (w *world) historyRowsLocked(id string, q historyQuery) []any {
	domain, _, _ := splitEntityID(id)
	var rows []any
	var prev *entityState
	for _, st := range w.history[id] {
		if st.LastUpdated.After(q.end) {
			break
		}
		if !st.LastUpdated.After(q.start) {
			prev = st
			continue
		}
		if q.significantOnly && !st.LastChanged.Equal(st.LastUpdated) && !slices.Contains(significantDomains, domain) {
			continue
		}
		if len(rows) == 0 && prev != nil {
			rows = append(rows, historyRow(prev, q, true))
		}
		rows = append(rows, historyRow(st, q, len(rows) == 0 || slices.Contains(needAttributeDomains, domain)))
	}
	if len(rows) == 0 && prev != nil && w.states[id] != nil {
		rows = append(rows, historyRow(prev, q, true))
	}
	return rows
}

// historyRow is a recorder state dict; the state in force at start is
// reported at the start time, as the recorder does.
func historyRow(st *entityState, q historyQuery, full bool) any {
	changed, updated := st.LastChanged, st.LastUpdated
	if updated.Before(q.start) {
		changed, updated = q.start, q.start
	}
	if q.minimal && !full {
		return map[string]any{"state": st.State, "last_changed": isoTime(changed)}
	}
	attrs := st.Attributes
	if q.noAttributes || attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{"entity_id": st.EntityID, "state": st.State, "attributes": attrs,
		"last_changed": isoTime(changed), "last_updated": isoTime(updated)}
}

// logEntry is one logbook entry.
type logEntry struct {
	when     time.Time
	entityID string
	fields   map[string]any
}

// logStateLocked adds the logbook entry of a state change: only real
// state changes, and not for sensors with a unit (continuous values).
func (w *world) logStateLocked(old, ns *entityState) {
	if old != nil && old.State == ns.State {
		return
	}
	if _, ok := ns.Attributes["unit_of_measurement"]; ok {
		return
	}
	f := map[string]any{"state": ns.State, "entity_id": ns.EntityID, "name": friendlyName(ns)}
	if ns.Context.UserID != nil {
		f["context_user_id"] = *ns.Context.UserID
	}
	w.logbook = appendCapped(w.logbook, logEntry{when: ns.LastChanged, entityID: ns.EntityID, fields: f}, maxLogbookEntries)
}

// logEventLocked adds the entries of automation and script runs.
func (w *world) logEventLocked(ev *event) {
	data, _ := ev.Data.(map[string]any)
	id, _ := data["entity_id"].(string)
	var msg string
	switch ev.Type {
	case "automation_triggered":
		msg = "triggered by action"
	case "script_started":
		msg = "started"
	default:
		return
	}
	domain, _, _ := splitEntityID(id)
	w.logbook = appendCapped(w.logbook, logEntry{when: ev.TimeFired, entityID: id, fields: map[string]any{
		"name": data["name"], "message": msg, "entity_id": id, "domain": domain, "context_id": ev.Context.ID}}, maxLogbookEntries)
}

func friendlyName(st *entityState) string {
	if n, ok := st.Attributes["friendly_name"].(string); ok {
		return n
	}
	_, object, _ := strings.Cut(st.EntityID, ".")
	return strings.ReplaceAll(object, "_", " ")
}

// getLogbook is GET /api/logbook[/<start>]?entity=&end_time=.
func (s *Server) getLogbook(w http.ResponseWriter, r *http.Request) {
	now := s.clock()
	start := now.Add(-24 * time.Hour)
	if raw := r.PathValue("start"); raw != "" {
		unescaped, _ := url.PathUnescape(raw)
		t, ok := parseISOTime(unescaped)
		if !ok {
			writeMessage(w, http.StatusBadRequest, "Invalid datetime")
			return
		}
		start = t
	}
	end := start.Add(24 * time.Hour)
	if raw := r.URL.Query().Get("end_time"); raw != "" {
		t, ok := parseISOTime(raw)
		if !ok {
			writeMessage(w, http.StatusBadRequest, "Invalid end_time")
			return
		}
		end = t
	}
	var filter []string
	if raw := r.URL.Query().Get("entity"); raw != "" {
		filter = strings.Split(strings.ToLower(raw), ",")
	}
	s.mu.Lock()
	out := []any{}
	for _, e := range s.w.logbook {
		if e.when.Before(start) || e.when.After(end) || filter != nil && !slices.Contains(filter, e.entityID) {
			continue
		}
		entry := map[string]any{"when": isoTime(e.when)}
		for k, v := range e.fields {
			entry[k] = v
		}
		out = append(out, entry)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
