package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
)

// instructions tell the model how the tools fit together.
const instructions = `Tools for one Home Assistant home. Find entities with get_entities (filters: domain, area, search, state; paged with limit/offset and a total), ` +
	`read one in full with get_entity_state, see what can be done with get_services and act with call_service. ` +
	`Entity ids look like "light.kitchen". Times accept ISO 8601 or relative forms like "-2h".`

// Tools is the Home Assistant MCP server. It is safe for concurrent use.
type Tools struct {
	cfg    Config
	ha     HomeAssistant
	pol    *policy
	ix     *index
	log    zerolog.Logger
	server *mcp.Server
}

// New returns the tools for cfg over ha. Call Run to keep the state index
// fresh from events; without it, every call reads Home Assistant afresh.
func New(cfg Config, ha HomeAssistant) (*Tools, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ha == nil {
		return nil, fmt.Errorf("%w: nil HomeAssistant", ErrConfig)
	}
	cfg = cfg.withDefaults()
	t := &Tools{cfg: cfg, ha: ha, pol: newPolicy(cfg), log: cfg.Logger.With().Str("component", "tools").Logger()}
	t.ix = newIndex(ha, t.log, cfg.Now, cfg.IndexMaxAge)
	t.ix.releaseMemory = cfg.ReleaseMemory
	t.ix.gcHeadroom = cfg.GCHeadroom
	t.server = mcp.NewServer(&mcp.Implementation{Name: cfg.Name, Title: "Home Assistant", Version: cfg.Version},
		&mcp.ServerOptions{Instructions: instructions, Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}})
	t.addTools()
	return t, nil
}

// Server returns the MCP server holding the tools.
func (t *Tools) Server() *mcp.Server { return t.server }

// Run keeps the state index fresh from Home Assistant's events until ctx
// ends, then returns nil. It may be called once.
func (t *Tools) Run(ctx context.Context) error { return t.ix.Run(ctx) }

// NewServer returns an MCP server with the tools for cfg over ha. Without
// a running index (see Tools.Run and Serve), every call reads Home
// Assistant afresh.
func NewServer(cfg Config, ha HomeAssistant) (*mcp.Server, error) {
	t, err := New(cfg, ha)
	if err != nil {
		return nil, err
	}
	return t.Server(), nil
}

// Serve serves the tools for cfg over one MCP transport, with a running
// state index, until the client disconnects (nil) or ctx ends (nil).
func Serve(ctx context.Context, cfg Config, ha HomeAssistant, transport mcp.Transport) error {
	t, err := New(cfg, ha)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return t.Run(gctx) })
	t.warm(gctx)
	g.Go(func() error {
		defer cancel() // the session ended: stop the index
		err := t.server.Run(gctx, transport)
		switch {
		case err == nil, gctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe), errors.Is(err, os.ErrClosed), errors.Is(err, syscall.EPIPE):
			t.log.Info().Err(err).Msg("MCP session ended: the client went away")
			return nil
		}
		return fmt.Errorf("tools: MCP session: %w", err)
	})
	return g.Wait()
}

// warm loads the state index before the MCP session starts, for at most
// WarmTimeout, so that no call waits for the first load: on a home of
// 10 000 entities it takes about a second. A client that sent initialize
// meanwhile gets its answer once warm returns; a pool hands a child calls
// only after that. If Home Assistant cannot be reached, the session starts
// anyway and the first call loads the index (or says Home Assistant is
// unavailable).
func (t *Tools) warm(ctx context.Context) {
	if t.cfg.WarmTimeout < 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, t.cfg.WarmTimeout)
	defer cancel()
	start := time.Now()
	if err := t.ix.warm(wctx); err != nil {
		if ctx.Err() == nil {
			t.log.Warn().Err(err).Dur("after", time.Since(start)).Msg("starting without the state index; the first call loads it")
		}
		return
	}
	t.log.Debug().Dur("took", time.Since(start)).Msg("state index warmed")
}

// tool describes one tool: its schema, hints, and the function that turns
// decoded arguments into an answer and its text rendering.
type tool[In, Out any] struct {
	name, title, desc string
	input             *inputSchema
	ann               mcp.ToolAnnotations
	run               func(ctx context.Context, in *In) (*Out, error)
	text              func(out *Out) string
}

func ptr[T any](v T) *T { return &v }

// readHints are the annotations of a tool that only reads.
func readHints(title string) mcp.ToolAnnotations {
	return mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)}
}

// writeHints are the annotations of a tool that changes Home Assistant.
func writeHints(title string, destructive, idempotent bool) mcp.ToolAnnotations {
	return mcp.ToolAnnotations{Title: title, DestructiveHint: ptr(destructive), IdempotentHint: idempotent, OpenWorldHint: ptr(false)}
}

// addTool registers d on s, with the output schema inferred from Out.
func addTool[In, Out any](t *Tools, d tool[In, Out]) {
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		panic(fmt.Sprintf("tools: output schema of %s: %v", d.name, err)) // a programming error
	}
	ann := d.ann
	t.server.AddTool(&mcp.Tool{Name: d.name, Title: d.title, Description: d.desc,
		InputSchema: d.input.schema, OutputSchema: out, Annotations: &ann}, handler(t, d))
}

// handler wraps a tool: argument checks, timeout, connection wait, panic
// recovery, error mapping, size cap and logging.
func handler[In, Out any](t *Tools, d tool[In, Out]) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, _ error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				t.log.Error().Str("tool", d.name).Interface("panic", r).Msg("tool panicked")
				res = errorResult(fmt.Sprintf("internal error in %s; please report it: %v", d.name, r))
			}
			t.logCall(d.name, start, res)
		}()
		var in In
		if err := d.input.decode(req.Params.Arguments, &in); err != nil {
			return errorResult(err.Error()), nil
		}
		ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
		defer cancel()
		if err := t.ready(ctx); err != nil {
			return errorResult(t.describe(err)), nil
		}
		ctx, view := withViewNote(ctx)
		out, err := d.run(ctx, &in)
		if err != nil {
			return errorResult(t.describe(err)), nil
		}
		res = t.result(d.name, out, d.text(out))
		if at := view.time(); !at.IsZero() && !res.IsError {
			res.Meta = mcp.Meta{ViewTimeMeta: at.UTC().Format(time.RFC3339Nano)}
		}
		return res, nil
	}
}

func (t *Tools) logCall(name string, start time.Time, res *mcp.CallToolResult) {
	ev := t.log.Debug()
	if res == nil || res.IsError {
		ev = t.log.Info()
	}
	ev = ev.Str("tool", name).Dur("took", time.Since(start))
	if res != nil && res.IsError && len(res.Content) > 0 {
		if tc, ok := res.Content[0].(*mcp.TextContent); ok {
			ev = ev.Str("error", truncate(tc.Text, 300))
		}
	}
	ev.Msg("tool call")
}

// result builds a successful answer. Tools fit their answers within
// MaxAnswerBytes themselves; this is the last guard.
func (t *Tools) result(name string, out any, text string) *mcp.CallToolResult {
	b, err := json.Marshal(out)
	if err != nil {
		return errorResult(fmt.Sprintf("internal error in %s: encoding the answer: %v", name, err))
	}
	if len(b) > t.cfg.MaxAnswerBytes+t.cfg.MaxAnswerBytes/4 {
		return errorResult(fmt.Sprintf("the answer of %s is too large (%d bytes); narrow the request (filters, limit, shorter time range)", name, len(b)))
	}
	if len(text) > t.cfg.MaxAnswerBytes {
		text = truncate(text, t.cfg.MaxAnswerBytes-64) + "\n[text cut; the structured answer has everything]"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: json.RawMessage(b)}
}

func errorResult(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

// ready waits, for at most UnavailableWait, until the client is connected.
func (t *Tools) ready(ctx context.Context) error {
	if t.ha.Status().Connected {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, t.cfg.UnavailableWait)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-wctx.Done():
			st := t.ha.Status()
			if st.Connected {
				return nil
			}
			return &unavailableError{detail: st.LastError}
		case <-tick.C:
			if t.ha.Status().Connected {
				return nil
			}
		}
	}
}

// unavailableError is Home Assistant not being reachable.
type unavailableError struct{ detail string }

func (e *unavailableError) Error() string {
	msg := "Home Assistant is unavailable right now (it may be restarting); try again in a moment"
	if e.detail != "" {
		msg += " (last error: " + truncate(e.detail, 200) + ")"
	}
	return msg
}

// toolError is a failure the tool itself reports (unknown entity, missing
// confirmation...): its message goes to the model as is.
type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }

func failf(format string, args ...any) error { return &toolError{msg: fmt.Sprintf(format, args...)} }
