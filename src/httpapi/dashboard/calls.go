package dashboard

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// Bounds of one kept call, so that the ring of recent calls is bounded in
// bytes (50 calls: under 200 KiB).
const (
	maxArgBytes = 2048 // arguments kept to show; larger ones are shown by size
	maxText     = 300  // characters of the error and names
)

// call is one finished call as the dashboard keeps it.
type call struct {
	Time         time.Time `json:"time"`
	Tool         string    `json:"tool"`
	Who          string    `json:"who"`
	User         string    `json:"user,omitempty"`
	Client       string    `json:"client,omitempty"`
	Kind         string    `json:"kind"`
	Outcome      string    `json:"outcome"`
	Error        string    `json:"error,omitempty"`
	DurationMS   float64   `json:"duration_ms"`
	Cached       bool      `json:"cached"`
	Deduplicated bool      `json:"deduplicated,omitempty"`
	Stale        bool      `json:"stale,omitempty"`

	args     []byte // a copy of the arguments (at most maxArgBytes), shown redacted
	argBytes int
}

// callView is a call as the page gets it: arguments redacted.
type callView struct {
	call
	Arguments json.RawMessage `json:"arguments"`
}

func newCall(ctx context.Context, f bridge.Finished) call {
	m := f.Result.Meta
	c := call{
		Time: f.Start.UTC(), Tool: cut(f.Request.Tool, maxText), Who: cut(who(f.Request.Client), maxText),
		User: httpapi.IngressUserName(ctx), Client: cut(f.Request.ClientName, 100), Kind: f.Kind.String(), Outcome: f.Outcome,
		DurationMS: round2(ms(m.Duration)), Cached: m.Cached, Deduplicated: m.Deduplicated, Stale: m.Stale,
		argBytes: len(f.Request.Arguments),
	}
	if f.Err != nil {
		c.Error = cut(f.Err.Error(), maxText)
	}
	if len(f.Request.Arguments) <= maxArgBytes {
		c.args = append([]byte(nil), f.Request.Arguments...)
	}
	return c
}

// view redacts the call's arguments for the page.
func (c call) view() callView {
	v := callView{call: c, Arguments: json.RawMessage(`{}`)}
	switch {
	case c.args == nil && c.argBytes > 0:
		v.Arguments, _ = json.Marshal("(" + strconv.Itoa(c.argBytes) + " bytes, not kept)")
	case len(c.args) > 0:
		var a any
		if json.Unmarshal(c.args, &a) == nil {
			v.Arguments, _ = json.Marshal(redact(a))
		}
	}
	return v
}

// Redacted replaces the value of a secret-looking key.
const Redacted = "[redacted]"

// secretKey reports whether an argument named key may hold a secret: a
// token, password, key, lock or alarm code. It errs on the side of hiding.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"token", "password", "passwd", "secret", "api_key", "apikey", "authorization", "credential", "code"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "pin" || k == "key" || k == "auth"
}

// redact returns v with the values of secret-looking keys replaced, at
// any depth.
func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			if secretKey(k) {
				out[k] = Redacted
			} else {
				out[k] = redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, val := range v {
			out[i] = redact(val)
		}
		return out
	}
	return v
}

// cut returns s cut to at most n characters, valid UTF-8.
func cut(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	return string([]rune(s)[:min(utf8.RuneCountInString(s), n)])
}
