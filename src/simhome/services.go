package simhome

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ServiceCall is one executed service call, as recorded by ServiceCalls.
// Data and Target hold plain encoding/json values (numbers are float64).
type ServiceCall struct {
	Domain         string
	Service        string
	Data           map[string]any
	Target         map[string]any
	ReturnResponse bool
	Time           time.Time
}

// callError is a failed service call: a WebSocket error code and message,
// and the optional translation Home Assistant attaches.
type callError struct {
	code    string
	message string
	tr      *translation
}

func (e *callError) Error() string { return e.code + ": " + e.message }

func invalid(format string, args ...any) *callError {
	return &callError{code: errInvalidFormat, message: fmt.Sprintf(format, args...)}
}

// validationError is a ServiceValidationError: the WebSocket API prefixes
// its message with "Validation error: ".
func validationError(key string, placeholders map[string]string, format string, args ...any) *callError {
	return &callError{code: errServiceValidation, message: "Validation error: " + fmt.Sprintf(format, args...),
		tr: &translation{Domain: "homeassistant", Key: key, Placeholders: placeholders}}
}

// serviceRequest is a service call as it arrives from either API.
type serviceRequest struct {
	Domain, Service string
	Data            map[string]any // service_data, normalised
	Target          map[string]any // target, normalised; may be nil
	ReturnResponse  bool
}

// serviceResult is a successful call.
type serviceResult struct {
	ctx      haContext
	response any
	changed  []*entityState
}

var callServiceSchema = []field{
	{name: "domain", required: true, kind: kindStr},
	{name: "service", required: true, kind: kindStr},
	{name: "target", kind: kindDict},
	{name: "service_data", kind: kindDict},
	{name: "return_response", kind: kindBool},
}

func handleCallService(c *conn, cmd command) {
	req := serviceRequest{Domain: cmd.m["domain"].(string), Service: cmd.m["service"].(string)}
	req.Data, _ = cmd.m["service_data"].(map[string]any)
	req.Target, _ = cmd.m["target"].(map[string]any)
	req.ReturnResponse, _ = cmd.m["return_response"].(bool)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if release, hung := s.w.hangs[req.Domain+"."+req.Service]; hung {
		c.hangLocked(cmd.id, req, release)
		return
	}
	answerCallLocked(c, cmd.id, req)
}

// answerCallLocked runs a service call and queues its answer on c.
func answerCallLocked(c *conn, id int64, req serviceRequest) {
	s := c.s
	var b batch
	res, cerr := s.callServiceLocked(&b, req)
	if cerr != nil {
		b.add(c, errorMessage(id, cerr.code, cerr.message, cerr.tr))
	} else {
		out := map[string]any{"context": res.ctx}
		if req.ReturnResponse {
			out["response"] = res.response
		}
		b.add(c, resultMessage(id, out))
	}
	b.flush()
}

// callServiceLocked runs a service call like ServiceRegistry.async_call:
// look the service up, check response support, validate the data, fire
// call_service, run it.
func (s *Server) callServiceLocked(b *batch, req serviceRequest) (serviceResult, *callError) {
	w := &s.w
	def, ok := w.serviceLocked(req.Domain, req.Service)
	if !ok {
		return serviceResult{}, &callError{code: errNotFound,
			message: fmt.Sprintf("Service %s.%s not found.", req.Domain, req.Service),
			tr: &translation{Domain: "homeassistant", Key: "service_not_found",
				Placeholders: map[string]string{"domain": req.Domain, "service": req.Service}}}
	}
	if cerr := checkResponseSupport(def, req.ReturnResponse); cerr != nil {
		return serviceResult{}, cerr
	}
	data := maps.Clone(req.Data)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range req.Target {
		data[k] = v
	}
	targets, cerr := def.validate(data)
	if cerr != nil {
		return serviceResult{}, cerr
	}
	now := s.clock()
	ctx := w.userContextLocked(now)
	w.fireLocked(b, &event{Type: "call_service", TimeFired: now, Context: ctx,
		Data: map[string]any{"domain": req.Domain, "service": req.Service, "service_data": data}})
	w.recordCallLocked(req, now)
	if msg, failing := w.failures[req.Domain+"."+req.Service]; failing {
		return serviceResult{}, &callError{code: errHomeAssistant, message: msg}
	}
	run := &svcRun{w: w, b: b, ctx: ctx, now: now, domain: req.Domain, service: req.Service,
		data: data, entities: w.resolveTargetsLocked(def, targets)}
	if cerr := def.run(run); cerr != nil {
		return serviceResult{}, cerr
	}
	res := serviceResult{ctx: ctx, response: run.response, changed: run.changed}
	if def.response == respNone {
		res.response = nil
	}
	return res, nil
}

func checkResponseSupport(def *svcDef, want bool) *callError {
	switch {
	case want && def.response == respNone:
		return validationError("service_does_not_support_response", nil,
			"An action which does not return responses can't be called with return_response=True")
	case !want && def.response == respOnly:
		return validationError("service_lacks_response_request", nil,
			"The action requires responses and must be called with return_response=True")
	}
	return nil
}

// recordCallLocked appends to the ServiceCalls log, with values decoded the
// plain encoding/json way so callers can compare them with float64s.
func (w *world) recordCallLocked(req serviceRequest, now time.Time) {
	w.calls = append(w.calls, ServiceCall{Domain: req.Domain, Service: req.Service,
		Data: plainMap(req.Data), Target: plainMap(req.Target), ReturnResponse: req.ReturnResponse, Time: now})
}

func plainMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// svcRun is one execution of a service.
type svcRun struct {
	w        *world
	b        *batch
	ctx      haContext
	now      time.Time
	domain   string
	service  string
	data     map[string]any // validated data, target keys included
	entities []string       // targeted entities of the service's domain
	response any
	changed  []*entityState
}

// set writes a state with the call's context and remembers it as changed.
func (r *svcRun) set(id, state string, attrs map[string]any) {
	if ns, changed := r.w.storeLocked(r.b, id, state, attrs, r.ctx, r.now, false); changed {
		r.changed = append(r.changed, ns)
	}
}

// fire fires an event with the call's context.
func (r *svcRun) fire(eventType string, data map[string]any) {
	r.w.fireLocked(r.b, &event{Type: eventType, Data: data, TimeFired: r.now, Context: r.ctx})
}

// targetSpec is the entity_id/device_id/area_id/floor_id/label_id part of
// a call, already validated.
type targetSpec struct {
	entityIDs, deviceIDs, areaIDs, floorIDs, labelIDs []string
}

// resolveTargetsLocked expands a target like service.async_extract_referenced_entity_ids
// and keeps the entities that the service's domain handles.
func (w *world) resolveTargetsLocked(def *svcDef, t targetSpec) []string {
	if def.entityDomain == "" {
		return nil
	}
	matches := func(id string) bool {
		d, _, _ := splitEntityID(id)
		return def.entityDomain == "*" || d == def.entityDomain
	}
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if !seen[id] && matches(id) && w.states[id] != nil {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range t.entityIDs {
		if id == "all" {
			for _, e := range w.order {
				add(e)
			}
			continue
		}
		add(id)
	}
	areas := slices.Clone(t.areaIDs)
	for _, f := range t.floorIDs {
		areas = append(areas, w.reg.areasOnFloor(f)...)
	}
	for _, id := range w.reg.entitiesIn(t.deviceIDs, areas) {
		add(id)
	}
	return out
}
