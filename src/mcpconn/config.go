package mcpconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// LatestProtocolVersion is the protocol version sent in initialize. Children
// may answer any version in [SupportedProtocolVersions].
const LatestProtocolVersion = "2025-11-25"

// SupportedProtocolVersions lists, newest first, the handshake-era protocol
// versions a child may answer initialize with.
var SupportedProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// StatelessProtocolVersion is the protocol version without a handshake
// (2026-07-28): a session opened in it (Config.ProtocolVersion) asks the
// child server/discover instead of initialize, and every request carries
// the version and the client's capabilities in its _meta.
const StatelessProtocolVersion = "2026-07-28"

// Config describes one child and how to talk to it. The zero value is not
// usable: Command is required.
type Config struct {
	// Command is the program and its arguments. Required.
	Command []string
	// Env is added to the current process environment for the child
	// (later entries win), so a child inherits PATH and HOME unless told
	// otherwise.
	Env []string
	// Dir is the child's working directory. If empty, ours.
	Dir string
	// Name tags this child in logs (e.g. "child-3"). If empty, the program name.
	Name string

	// ClientName and ClientVersion are sent as clientInfo in initialize.
	// If empty, "mcp-bridge" and "dev".
	ClientName, ClientVersion string
	// ClientCapabilities is sent in initialize. If nil, {} (no roots,
	// sampling or elicitation: the child should not ask for them).
	ClientCapabilities json.RawMessage

	// ProtocolVersion, if StatelessProtocolVersion, opens the session
	// without the initialize handshake: Start sends server/discover and
	// fails with ErrUnsupportedVersion if the child does not speak that
	// version. If empty, Start performs the initialize handshake in
	// LatestProtocolVersion.
	ProtocolVersion string

	// StopTimeout is how long Close waits at each step of the stop order
	// (after closing stdin, after SIGTERM, after SIGKILL). If zero, 5s.
	StopTimeout time.Duration
	// MaxMessageBytes bounds one message from the child. If zero, 64 MiB.
	MaxMessageBytes int

	// Handlers receives what the child sends that no call claims. Optional.
	Handlers *Handlers
	// Logger receives the child's stderr lines and lifecycle events.
	// The zero value discards them.
	Logger zerolog.Logger
}

// Validate reports whether c can start a child.
func (c *Config) Validate() error {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return errors.New("mcpconn: Command is empty")
	}
	if c.StopTimeout < 0 {
		return fmt.Errorf("mcpconn: StopTimeout %v is negative", c.StopTimeout)
	}
	if c.ProtocolVersion != "" && c.ProtocolVersion != StatelessProtocolVersion {
		return fmt.Errorf("mcpconn: ProtocolVersion %q: want %q or empty", c.ProtocolVersion, StatelessProtocolVersion)
	}
	if c.MaxMessageBytes < 0 {
		return fmt.Errorf("mcpconn: MaxMessageBytes %d is negative", c.MaxMessageBytes)
	}
	return nil
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = c.Command[0]
	}
	if c.ClientName == "" {
		c.ClientName = "mcp-bridge"
	}
	if c.ClientVersion == "" {
		c.ClientVersion = "dev"
	}
	if len(c.ClientCapabilities) == 0 {
		c.ClientCapabilities = json.RawMessage(`{}`)
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 5 * time.Second
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 64 << 20
	}
	return c
}

// Handlers receive the messages a child sends on its own: notifications
// (notifications/progress, notifications/message, list_changed ...) and
// requests (roots/list, sampling/createMessage, elicitation/create). Ping
// requests are always answered by the session itself. Either field may be
// nil. Handlers are called from the session's goroutines: Notification must
// not block for long; Request runs on its own goroutine and its ctx ends
// when the child cancels the request or the session ends.
type Handlers struct {
	Notification func(method string, params json.RawMessage)
	// Request answers a request from the child. A nil Request, or a nil
	// Handlers, answers -32601 method not found. Return an *RPCError to
	// choose the error code.
	Request func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
	// Exclusive asks that a call carrying these Handlers run alone on its
	// session, so that every message the child sends while it runs (log
	// messages, sampling, elicitation and roots requests, which name no
	// request) is the call's. A child cannot say which of several calls in
	// flight such a message is about. The pool honours it; Session.Call
	// does not look at it.
	Exclusive bool
	// ProtocolVersion, if StatelessProtocolVersion, asks that the call run
	// on a child spoken to in that version (see Config.ProtocolVersion),
	// where the child answers input_required results itself instead of
	// sending requests. The pool honours it when its children speak that
	// version and serves the call on another child otherwise.
	ProtocolVersion string
}

type handlersKey struct{}

// WithHandlers returns a ctx that makes [Session.Call] route the child's
// messages about that call to h: progress notifications carrying the
// call's progress token, and, while it is the only call in flight on its
// session, every other notification and request.
func WithHandlers(ctx context.Context, h *Handlers) context.Context {
	return context.WithValue(ctx, handlersKey{}, h)
}

// HandlersFrom returns the Handlers set on ctx by [WithHandlers], or nil.
func HandlersFrom(ctx context.Context) *Handlers { return handlersFrom(ctx) }

func handlersFrom(ctx context.Context) *Handlers {
	h, _ := ctx.Value(handlersKey{}).(*Handlers)
	return h
}
