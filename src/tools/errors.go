package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
)

// describe turns an error into the message the model sees: what happened
// and what to do next, with Home Assistant's own message when it gave one.
// Secrets never appear: hass errors carry no token.
func (t *Tools) describe(err error) string {
	var (
		arg   *argError
		te    *toolError
		un    *unavailableError
		haErr *hass.Error
	)
	switch {
	case errors.As(err, &arg):
		return arg.Error()
	case errors.As(err, &te):
		return te.msg
	case errors.As(err, &un):
		return un.Error()
	case errors.As(err, &haErr):
		return describeHA(haErr)
	case errors.Is(err, hass.ErrConnectionLost):
		return "The connection to Home Assistant was lost before it answered (it may be restarting). " +
			"If this was an action, it may or may not have run: check the entity states before retrying."
	case errors.Is(err, hass.ErrUnavailable):
		return (&unavailableError{detail: t.ha.Status().LastError}).Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Home Assistant did not answer within %s; it may be busy or restarting. Try again, or narrow the request.", t.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	}
	t.log.Warn().Err(err).Msg("unexpected tool error")
	return "Error: " + err.Error()
}

// describeHA renders Home Assistant's error, keeping its message.
func describeHA(e *hass.Error) string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = e.Code
	}
	switch {
	case e.StatusCode == 404:
		return "Home Assistant: not found: " + msg
	case e.StatusCode == 401 || e.StatusCode == 403:
		return "Home Assistant refused the request (" + e.Code + "): " + msg
	case e.StatusCode >= 500:
		return "Home Assistant failed (" + e.Code + "): " + msg
	case e.Code == "":
		return "Home Assistant error: " + msg
	}
	return "Home Assistant error (" + e.Code + "): " + msg
}
