package simhome

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Error codes of websocket_api.const.
const (
	errIDReuse           = "id_reuse"
	errInvalidFormat     = "invalid_format"
	errNotFound          = "not_found"
	errNotSupported      = "not_supported"
	errHomeAssistant     = "home_assistant_error"
	errServiceValidation = "service_validation_error"
	errUnknownCommand    = "unknown_command"
	errUnknownError      = "unknown_error"
	errTemplateError     = "template_error"
)

// command is a validated incoming message.
type command struct {
	id  int64
	typ string
	m   map[string]any
}

// handler answers one command; it runs on the connection's reader.
type handler struct {
	schema []field
	fn     func(c *conn, cmd command)
}

// handlers is the command table, like hass.data[websocket_api.DOMAIN].
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"ping":                        {nil, handlePing},
		"supported_features":          {[]field{{name: "features", required: true, kind: kindDict}}, handleSupportedFeatures},
		"get_states":                  {nil, handleGetStates},
		"get_config":                  {nil, handleGetConfig},
		"get_services":                {nil, handleGetServices},
		"call_service":                {callServiceSchema, handleCallService},
		"subscribe_events":            {[]field{{name: "event_type", kind: kindStr}}, handleSubscribeEvents},
		"unsubscribe_events":          {[]field{{name: "subscription", required: true, kind: kindPositiveInt}}, handleUnsubscribeEvents},
		"fire_event":                  {fireEventSchema, handleFireEvent},
		"render_template":             {renderTemplateSchema, handleRenderTemplate},
		"validate_config":             {validateConfigSchema, handleValidateConfig},
		"config/area_registry/list":   {nil, handleAreaList},
		"config/floor_registry/list":  {nil, handleFloorList},
		"config/device_registry/list": {nil, handleDeviceList},
		"config/entity_registry/list": {nil, handleEntityList},
	}
}

// handle dispatches one message like ActiveConnection.async_handle.
func (c *conn) handle(raw any) {
	m, ok := raw.(map[string]any)
	id, idOK := intValue(m["id"])
	typ, typeOK := m["type"].(string)
	if !ok || !idOK || id == 0 || !typeOK || typ == "" {
		var rawID any = 0
		if ok {
			rawID = m["id"]
		}
		c.enqueue(errorMessage(rawID, errInvalidFormat, "Message incorrectly formatted.", nil))
		return
	}
	if id <= c.lastID {
		c.enqueue(errorMessage(id, errIDReuse, "Identifier values have to increase.", nil))
		return
	}
	h, ok := handlers[typ]
	if !ok {
		c.enqueue(errorMessage(id, errUnknownCommand, "Unknown command.", nil))
		return
	}
	if problem := validateFields(m, h.schema); problem != "" {
		c.enqueue(errorMessage(id, errInvalidFormat, problem, nil))
	} else {
		c.s.count(typ)
		h.fn(c, command{id: id, typ: typ, m: m})
	}
	c.lastID = id
}

// intValue accepts JSON integers only, as `type(x) is int` does in Python.
func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

// resultMessage is {"id":N,"type":"result","success":true,"result":...}.
func resultMessage(id int64, result any) []byte {
	return resultRaw(id, mustJSON(result))
}

func resultRaw(id int64, result []byte) []byte {
	b := make([]byte, 0, len(result)+48)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"type":"result","success":true,"result":`...)
	b = append(b, result...)
	return append(b, '}')
}

// translation is the optional translation part of an error payload.
type translation struct {
	Domain       string
	Key          string
	Placeholders map[string]string
}

// errorMessage is messages.error_message.
func errorMessage(id any, code, message string, tr *translation) []byte {
	payload := map[string]any{"code": code, "message": message}
	if tr != nil {
		payload["translation_key"] = tr.Key
		payload["translation_domain"] = tr.Domain
		if tr.Placeholders != nil {
			payload["translation_placeholders"] = tr.Placeholders
		}
	}
	return mustJSON(map[string]any{"id": id, "type": "result", "success": false, "error": payload})
}

func (c *conn) sendResult(id int64, result any) { c.enqueue(resultMessage(id, result)) }

func (c *conn) sendError(id int64, code, message string) {
	c.enqueue(errorMessage(id, code, message, nil))
}

func handlePing(c *conn, cmd command) {
	c.enqueue(mustJSON(map[string]any{"id": cmd.id, "type": "pong"}))
}

func handleSupportedFeatures(c *conn, cmd command) {
	features, _ := cmd.m["features"].(map[string]any)
	_, ok := features["coalesce_messages"]
	c.coalesce.Store(ok)
	c.sendResult(cmd.id, nil)
}

func handleGetStates(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.enqueue(resultRaw(cmd.id, statesJSON(c.s.w.allStatesLocked())))
}

func handleGetConfig(c *conn, cmd command) {
	c.sendResult(cmd.id, c.s.configDict())
}

func handleGetServices(c *conn, cmd command) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.sendResult(cmd.id, c.s.w.serviceDescriptionsLocked())
}

func handleSubscribeEvents(c *conn, cmd command) {
	et, ok := cmd.m["event_type"].(string)
	if !ok {
		et = "*"
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.w.subs = append(c.s.w.subs, &subscription{c: c, id: cmd.id, eventType: et})
	c.sendResult(cmd.id, nil)
}

func handleUnsubscribeEvents(c *conn, cmd command) {
	id, _ := intValue(cmd.m["subscription"])
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for i, sub := range c.s.w.subs {
		if sub.c == c && sub.id == id {
			c.s.w.subs = append(c.s.w.subs[:i:i], c.s.w.subs[i+1:]...)
			c.sendResult(cmd.id, nil)
			return
		}
	}
	c.sendError(cmd.id, errNotFound, "Subscription not found.")
}

var fireEventSchema = []field{
	{name: "event_type", required: true, kind: kindStr},
	{name: "event_data", kind: kindDict},
}

func handleFireEvent(c *conn, cmd command) {
	et := cmd.m["event_type"].(string)
	data, _ := cmd.m["event_data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	ctx := s.w.userContextLocked(now)
	var b batch
	s.w.fireLocked(&b, &event{Type: et, Data: data, TimeFired: now, Context: ctx})
	b.add(c, resultMessage(cmd.id, map[string]any{"context": ctx}))
	b.flush()
}

// unsubscribeAllLocked ends every subscription of c (connection closed).
func (s *Server) unsubscribeAllLocked(c *conn) {
	kept := s.w.subs[:0]
	for _, sub := range s.w.subs {
		if sub.c != c {
			kept = append(kept, sub)
		}
	}
	clear(s.w.subs[len(kept):])
	s.w.subs = kept
}
