package hass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// ServiceCall is one Home Assistant action (service) call.
type ServiceCall struct {
	Domain, Service string
	Data            map[string]any // service_data
	Target          map[string]any // entity_id, device_id, area_id, floor_id, label_id
	ReturnResponse  bool           // ask for the service's response data
}

// GetStates returns every entity's state (WebSocket get_states).
func (c *Client) GetStates(ctx context.Context) ([]State, error) {
	var states []State
	if err := c.Command(ctx, map[string]any{"type": "get_states"}, &states); err != nil {
		return nil, err
	}
	return states, nil
}

// GetState returns one entity's state (REST /states/<entity_id>). An unknown
// entity is an *Error with StatusCode 404 (see IsNotFound).
func (c *Client) GetState(ctx context.Context, entityID string) (State, error) {
	var st State
	if entityID == "" {
		return st, errors.New("hass: empty entity id")
	}
	err := c.REST(ctx, "GET", "/states/"+url.PathEscape(entityID), nil, &st)
	return st, err
}

// GetConfig returns Home Assistant's configuration (WebSocket get_config):
// location, units, version, components, time zone...
func (c *Client) GetConfig(ctx context.Context) (map[string]any, error) {
	var cfg map[string]any
	if err := c.Command(ctx, map[string]any{"type": "get_config"}, &cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// GetServices returns every service by domain then name, each with Home
// Assistant's description (fields, target, response) left raw.
func (c *Client) GetServices(ctx context.Context) (map[string]map[string]json.RawMessage, error) {
	var services map[string]map[string]json.RawMessage
	if err := c.Command(ctx, map[string]any{"type": "get_services"}, &services); err != nil {
		return nil, err
	}
	return services, nil
}

// CallService calls an action and returns the raw WebSocket result,
// {"context": {...}, "response": ...} (response only with ReturnResponse).
func (c *Client) CallService(ctx context.Context, call ServiceCall) (json.RawMessage, error) {
	if call.Domain == "" || call.Service == "" {
		return nil, errors.New("hass: service call needs a domain and a service")
	}
	cmd := map[string]any{"type": "call_service", "domain": call.Domain, "service": call.Service}
	if call.Data != nil {
		cmd["service_data"] = call.Data
	}
	if call.Target != nil {
		cmd["target"] = call.Target
	}
	if call.ReturnResponse {
		cmd["return_response"] = true
	}
	var raw json.RawMessage
	if err := c.Command(ctx, cmd, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ListAreas returns the area registry (config/area_registry/list).
func (c *Client) ListAreas(ctx context.Context) (json.RawMessage, error) {
	return c.list(ctx, "config/area_registry/list")
}

// ListFloors returns the floor registry (config/floor_registry/list).
func (c *Client) ListFloors(ctx context.Context) (json.RawMessage, error) {
	return c.list(ctx, "config/floor_registry/list")
}

// ListDevices returns the device registry (config/device_registry/list).
func (c *Client) ListDevices(ctx context.Context) (json.RawMessage, error) {
	return c.list(ctx, "config/device_registry/list")
}

// ListEntityRegistry returns the entity registry (config/entity_registry/list).
func (c *Client) ListEntityRegistry(ctx context.Context) (json.RawMessage, error) {
	return c.list(ctx, "config/entity_registry/list")
}

func (c *Client) list(ctx context.Context, typ string) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.Command(ctx, map[string]any{"type": typ}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// RenderTemplate renders a Jinja template with optional variables.
//
// Home Assistant's render_template is a subscription: it confirms, then
// sends the rendering as an event ({"result": ...} or {"error": ...}) and
// again whenever an entity the template reads changes. RenderTemplate takes
// the first rendering and unsubscribes. A template error is an *Error with
// Code "template_error".
func (c *Client) RenderTemplate(ctx context.Context, template string, vars map[string]any) (string, error) {
	cmd := map[string]any{"type": "render_template", "template": template, "report_errors": true}
	if vars != nil {
		cmd["variables"] = vars
	}
	first := make(chan templateEvent, 1)
	onEvent := func(raw json.RawMessage) {
		var ev templateEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			ev = templateEvent{Error: "undecodable render_template event: " + err.Error()}
		}
		if ev.Error != "" && ev.Level != "" && ev.Level != "ERROR" {
			return // a warning; the rendering follows
		}
		select {
		case first <- ev:
		default:
		}
	}
	cn, id, _, err := c.subscribeCommand(ctx, cmd, onEvent)
	if err != nil {
		return "", err
	}
	defer cn.unsubscribe(id)
	select {
	case ev := <-first:
		return ev.text()
	case <-ctx.Done():
		return "", fmt.Errorf("hass: waiting for template: %w", ctx.Err())
	case <-cn.done:
		return "", fmt.Errorf("%w: %w", ErrConnectionLost, cn.err)
	}
}

// templateEvent is one render_template event.
type templateEvent struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Level  string          `json:"level"`
}

// text returns the rendering. Home Assistant sends a string, or a native
// type (number, list...) when the rendering parses as one; those come back
// as their JSON text.
func (ev templateEvent) text() (string, error) {
	if ev.Error != "" {
		return "", &Error{Code: "template_error", Message: ev.Error}
	}
	var s string
	if json.Unmarshal(ev.Result, &s) == nil {
		return s, nil
	}
	return string(ev.Result), nil
}
