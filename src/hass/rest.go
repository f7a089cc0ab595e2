package hass

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxErrorBody bounds how much of a failed REST response is read.
const maxErrorBody = 1 << 20

// REST calls Home Assistant's REST API. path is relative to Config.RESTURL
// and starts with "/" ("/states/light.kitchen", "/history/period/...?filter_entity_id=...").
// Only GET, POST and DELETE are allowed, the methods the Supervisor proxy
// passes. body, if non-nil, is sent as JSON; out, if non-nil, receives the
// JSON answer. A non-2xx status is an *Error with Code "http_<status>",
// StatusCode set, and Home Assistant's "message" when it sent one. A
// transport failure (Home Assistant down) wraps ErrUnavailable. REST does
// not need Run: it works whether or not the WebSocket is connected.
func (c *Client) REST(ctx context.Context, method, path string, body any, out any) error {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return restError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, readLimit+1))
	if err != nil {
		return fmt.Errorf("hass: %s %s: reading response: %w", method, path, err)
	}
	if len(data) > readLimit {
		return fmt.Errorf("hass: %s %s: response larger than %d bytes", method, path, readLimit)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("hass: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// newRequest builds an authenticated request for path under RESTURL.
func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		return nil, fmt.Errorf("hass: REST method %q not allowed (GET, POST or DELETE)", method)
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("hass: REST path %q must start with /", path)
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("hass: encoding request body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	u := strings.TrimSuffix(c.cfg.RESTURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("hass: REST request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// restError turns a non-2xx response into an *Error, keeping Home
// Assistant's {"message": ...} when the body has one.
func restError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Code: "http_" + strconv.Itoa(resp.StatusCode), StatusCode: resp.StatusCode}
	var body struct {
		Message string `json:"message"`
	}
	switch {
	case json.Unmarshal(data, &body) == nil && body.Message != "":
		e.Message = body.Message
	case len(bytes.TrimSpace(data)) > 0 && len(data) <= 200:
		e.Message = strings.TrimSpace(string(data))
	default:
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// IsNotFound reports whether err is Home Assistant answering 404 or
// not_found, such as an unknown entity.
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusNotFound || e.Code == "not_found"
}
