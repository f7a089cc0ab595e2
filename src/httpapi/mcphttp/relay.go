package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
)

// forwarded lists the methods relayed with bridge.Forward and the result
// type each decodes into. resources/subscribe and unsubscribe are relayed
// by the SDK's subscription handlers (see subscribe), which also record who
// subscribed.
var forwarded = map[string]func() mcp.Result{
	"resources/list":           func() mcp.Result { return new(mcp.ListResourcesResult) },
	"resources/templates/list": func() mcp.Result { return new(mcp.ListResourceTemplatesResult) },
	"resources/read":           func() mcp.Result { return new(mcp.ReadResourceResult) },
	"prompts/list":             func() mcp.Result { return new(mcp.ListPromptsResult) },
	"prompts/get":              func() mcp.Result { return new(mcp.GetPromptResult) },
	"completion/complete":      func() mcp.Result { return new(mcp.CompleteResult) },
}

// relay is the receiving middleware that hands the children's methods to
// the bridge and leaves the protocol's own to the SDK.
func (h *Handler) relay(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			return h.listTools(ctx, req)
		case "tools/call":
			return h.callTool(ctx, req)
		case "logging/setLevel":
			h.loggingSet(req)
		}
		if newResult, ok := forwarded[method]; ok {
			return h.forward(ctx, method, req, newResult())
		}
		return next(ctx, method, req)
	}
}

// listTools answers the bridge's tool catalog in one page, each tool as the
// child sent it (schemas byte for byte).
func (h *Handler) listTools(ctx context.Context, req mcp.Request) (mcp.Result, error) {
	if p, ok := req.GetParams().(*mcp.ListToolsParams); ok && p != nil && p.Cursor != "" {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid cursor: the bridge lists every tool in one page"}
	}
	l, err := h.cfg.Core.ListTools(ctx, -1)
	if err != nil {
		return nil, rpcError(err)
	}
	h.mirror.sync(h.server, l)
	res := &mcp.ListToolsResult{Tools: make([]*mcp.Tool, 0, len(l.Tools))}
	for _, raw := range l.Tools {
		t, err := decodeTool(raw)
		if err != nil {
			h.log.Warn().Err(err).Msg("leaving out a tool the SDK cannot represent")
			continue
		}
		res.Tools = append(res.Tools, t)
	}
	res.Cacheable = cacheable(time.Until(l.Expires))
	return res, nil
}

// decodeTool decodes a child's tool, keeping its schemas as the child wrote
// them: the SDK's types would reorder keys and drop what they do not know.
func decodeTool(raw json.RawMessage) (*mcp.Tool, error) {
	var t mcp.Tool
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	var schemas struct {
		In  json.RawMessage `json:"inputSchema"`
		Out json.RawMessage `json:"outputSchema"`
	}
	if err := json.Unmarshal(raw, &schemas); err != nil {
		return nil, err
	}
	if len(schemas.In) > 0 {
		t.InputSchema = schemas.In
	}
	if len(schemas.Out) > 0 && string(schemas.Out) != "null" {
		t.OutputSchema = schemas.Out
	}
	return &t, nil
}

// cacheable is the 2026-07-28 caching hint of a result fresh for ttl. The
// answers depend on the bridge's token and exposure settings, so they are
// private to the client.
func cacheable(ttl time.Duration) mcp.Cacheable {
	return mcp.Cacheable{TTLMs: int(max(ttl, 0) / time.Millisecond), CacheScope: "private"}
}

// callTool runs a tools/call through the bridge.
func (h *Handler) callTool(ctx context.Context, req mcp.Request) (mcp.Result, error) {
	p, ok := req.GetParams().(*mcp.CallToolParamsRaw)
	if !ok || p == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "tools/call needs params"}
	}
	ss, _ := req.GetSession().(*mcp.ServerSession)
	br, err := toolRequest(p.Name, p.Arguments, p.Meta, ss, h.caller(req))
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	var raw json.RawMessage
	switch {
	case modern(ss) && childsRound(p.RequestState, p.InputResponses):
		// The answers to the child's own input_required: the child takes them.
		br.RequestState = p.RequestState
		if br.InputResponses, err = json.Marshal(p.InputResponses); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
		}
		raw, err = h.roundTrip(ctx, ss, br.Client, "", nil, h.bridgeCall(br))
	case modern(ss):
		raw, err = h.roundTrip(ctx, ss, br.Client, p.RequestState, p.InputResponses, h.bridgeCall(br))
	default:
		res, err := h.runTool(ctx, ss, br)
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	if err != nil {
		return nil, rpcError(err)
	}
	res, err := decodeToolResult(raw)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// loggingSet notes that the client of req's session set a log level: the
// child's log messages about its calls then go on each call's own stream,
// which only the SDK's path has.
func (h *Handler) loggingSet(req mcp.Request) {
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		s := h.sessions.get(ss.ID())
		if s == nil {
			s = h.sse.bySession(ss) // HTTP+SSE sessions have no id
		}
		if s != nil {
			s.setLogging()
		}
	}
}

// toolRequest is the bridge's request for a tools/call of the session ss
// by client; an error is the client's (invalid params).
func toolRequest(name string, args json.RawMessage, meta mcp.Meta, ss *mcp.ServerSession, client string) (bridge.Request, error) {
	br := bridge.Request{Tool: name, Arguments: args, SessionID: sessionID(ss), Client: client, ClientName: clientName(ss)}
	if len(meta) > 0 {
		br.Meta, _ = json.Marshal(meta)
		control, err := cacheControl(meta)
		if err != nil {
			return br, err
		}
		br.CacheControl = control
	}
	return br, nil
}

// bridgeCall returns the bridge call of br, its result with the bridge's
// facts (cached, cache_expires, queue wait, ...) in _meta, as on the REST
// API.
func (h *Handler) bridgeCall(br bridge.Request) func(context.Context) (json.RawMessage, error) {
	return func(ctx context.Context) (json.RawMessage, error) {
		res, err := h.cfg.Core.Call(ctx, br)
		if err != nil {
			return nil, err
		}
		return bridge.WithMeta(res.Raw, res.Meta)
	}
}

// runTool runs a handshake-era tools/call of the session ss, with what the
// child sends about it routed to the session (see route).
func (h *Handler) runTool(ctx context.Context, ss *mcp.ServerSession, br bridge.Request) (*mcp.CallToolResult, error) {
	raw, err := h.toolResult(ctx, ss, br)
	if err != nil {
		return nil, err
	}
	return decodeToolResult(raw)
}

// toolResult is runTool's result as the child sent it, with the bridge's
// _meta.
func (h *Handler) toolResult(ctx context.Context, ss *mcp.ServerSession, br bridge.Request) (json.RawMessage, error) {
	rctx, finish := h.route(ctx, ss)
	raw, err := h.bridgeCall(br)(rctx)
	finish()
	if err != nil {
		return nil, rpcError(err)
	}
	return raw, nil
}

// decodeToolResult decodes a child's tools/call result into the SDK's
// type, which the SDK encodes for the client.
func decodeToolResult(raw json.RawMessage) (*mcp.CallToolResult, error) {
	if out, ok := decodeTextResult(raw); ok {
		return out, nil
	}
	out := new(mcp.CallToolResult)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, rpcError(fmt.Errorf("%w: decoding the child's tools/call result: %w", bridge.ErrBadResult, err))
	}
	return out, nil
}

// decodeTextResult decodes the common result, text content with optional
// structuredContent, isError and _meta, into what the SDK's decoder makes
// of it, with encoding/json: the SDK's decoder allocates a 32 KiB buffer
// per call, which cost a tenth of a Streamable HTTP call's CPU. Anything
// else, or anything the two decoders might read differently (other keys,
// invalid UTF-8, escaped surrogates), reports false for the SDK's decoder.
func decodeTextResult(raw json.RawMessage) (*mcp.CallToolResult, bool) {
	if !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\ud`)) || bytes.Contains(raw, []byte(`\uD`)) {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	out := new(mcp.CallToolResult)
	var items []map[string]json.RawMessage
	for k, v := range m {
		var err error
		switch k {
		case "content":
			err = json.Unmarshal(v, &items)
		case "structuredContent":
			err = json.Unmarshal(v, &out.StructuredContent)
		case "isError":
			err = json.Unmarshal(v, &out.IsError)
		case "_meta":
			err = json.Unmarshal(v, &out.Meta)
		default:
			return nil, false
		}
		if err != nil {
			return nil, false
		}
	}
	out.Content = make([]mcp.Content, 0, len(items)) // as the SDK: never nil
	for _, it := range items {
		text, ok := it["text"]
		if len(it) != 2 || !ok || string(it["type"]) != `"text"` {
			return nil, false
		}
		c := new(mcp.TextContent)
		if json.Unmarshal(text, &c.Text) != nil {
			return nil, false
		}
		out.Content = append(out.Content, c)
	}
	return out, true
}

// forward relays a child's method through the bridge and decodes its
// result into res.
func (h *Handler) forward(ctx context.Context, method string, req mcp.Request, res mcp.Result) (mcp.Result, error) {
	ss, _ := req.GetSession().(*mcp.ServerSession)
	state, responses, plain := roundParams(req.GetParams())
	if !ours(state) {
		state, responses, plain = "", nil, req.GetParams() // the child's own state, for the child
	}
	params, err := json.Marshal(plain)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	msg := bridge.Message{Method: method, Params: params, SessionID: sessionID(ss)}
	call := func(ctx context.Context) (json.RawMessage, error) { return h.cfg.Core.Forward(ctx, msg) }
	var raw json.RawMessage
	if modern(ss) && (method == "prompts/get" || method == "resources/read") {
		raw, err = h.roundTrip(ctx, ss, h.caller(req), state, responses, call)
	} else {
		rctx, finish := h.route(ctx, ss)
		raw, err = call(rctx)
		finish()
	}
	if err != nil {
		if modern(ss) {
			err = modernError(method, req, err)
		}
		return nil, rpcError(err)
	}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, rpcError(fmt.Errorf("%w: decoding the child's %s result: %w", bridge.ErrBadResult, method, err))
	}
	setCacheable(res)
	return res, nil
}

// setCacheable gives list and read results the 2026-07-28 caching hint:
// relayed answers are not cached by the bridge, so they are fresh only now.
func setCacheable(res mcp.Result) {
	c := cacheable(0)
	switch r := res.(type) {
	case *mcp.ListResourcesResult:
		r.Cacheable = c
	case *mcp.ListResourceTemplatesResult:
		r.Cacheable = c
	case *mcp.ReadResourceResult:
		r.Cacheable = c
	case *mcp.ListPromptsResult:
		r.Cacheable = c
	}
}

// sessionID is the client session's id for the bridge's logs and request
// ids, or "" for a stateless request.
// clientName is the client's name for itself, from its initialize request.
func clientName(ss *mcp.ServerSession) string {
	if ss == nil {
		return ""
	}
	if p := ss.InitializeParams(); p != nil && p.ClientInfo != nil {
		return p.ClientInfo.Name
	}
	return ""
}

func sessionID(ss *mcp.ServerSession) string {
	if ss == nil {
		return ""
	}
	return ss.ID()
}

// rpcError turns a bridge error into the JSON-RPC error the client gets: a
// child's own error as the child sent it, the bridge's as httpapi
// classifies it for every protocol.
func rpcError(err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we
	}
	var rpcErr *mcpconn.RPCError
	if errors.As(err, &rpcErr) {
		return &jsonrpc.Error{Code: int64(rpcErr.Code), Message: rpcErr.Message, Data: rpcErr.Data}
	}
	e := httpapi.Classify(err)
	var data json.RawMessage
	if e.Data != nil {
		data, _ = json.Marshal(e.Data)
	}
	return &jsonrpc.Error{Code: int64(e.Code), Message: e.Message, Data: data}
}

// codeResourceNotFound is the resource-not-found code of the handshake
// era; 2026-07-28 answers -32602 with the URI in data instead.
const codeResourceNotFound = -32002

// modern reports whether the session speaks the 2026-07-28 era.
func modern(ss *mcp.ServerSession) bool {
	if ss == nil {
		return false
	}
	p := ss.InitializeParams()
	return p != nil && p.ProtocolVersion >= "2026-07-28"
}

// modernError translates a child's handshake-era error into what a
// 2026-07-28 client expects.
func modernError(method string, req mcp.Request, err error) error {
	var rpcErr *mcpconn.RPCError
	if method != "resources/read" || !errors.As(err, &rpcErr) || rpcErr.Code != codeResourceNotFound {
		return err
	}
	p, _ := req.GetParams().(*mcp.ReadResourceParams)
	if p == nil {
		return err
	}
	data, _ := json.Marshal(map[string]string{"uri": p.URI})
	return &mcpconn.RPCError{Code: jsonrpc.CodeInvalidParams, Message: rpcErr.Message, Data: data}
}

// roundParams splits the multi-round-trip fields (2026-07-28) off params,
// which the bridge keeps to itself: the children never see them.
func roundParams(p mcp.Params) (state string, responses mcp.InputResponseMap, plain mcp.Params) {
	switch p := p.(type) {
	case *mcp.GetPromptParams:
		c := *p
		c.RequestState, c.InputResponses = "", nil
		return p.RequestState, p.InputResponses, &c
	case *mcp.ReadResourceParams:
		c := *p
		c.RequestState, c.InputResponses = "", nil
		return p.RequestState, p.InputResponses, &c
	}
	return "", nil, p
}

// caller is who made a request: its principal, or for HTTP+SSE, whose
// POSTs carry no token the SDK passes on, the owner of its session.
func (h *Handler) caller(req mcp.Request) string {
	if p := principal(req); p != "" {
		return p
	}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		if s := h.sse.bySession(ss); s != nil {
			return s.owner
		}
	}
	return ""
}

// principal is who made a request, as Config.Identity named them.
func principal(req mcp.Request) string {
	if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
		return extra.TokenInfo.UserID
	}
	return ""
}

// metaCacheControl is the _meta key through which an MCP client gives what
// the REST API's X-Cache-Control header gives: no-cache, no-store,
// max-age=N.
const metaCacheControl = bridge.MetaPrefix + "cache_control"

// cacheControl reads the caller's cache wish from a request's _meta.
func cacheControl(meta mcp.Meta) (cache.Control, error) {
	v, ok := meta[metaCacheControl]
	if !ok {
		return cache.Control{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return cache.Control{}, fmt.Errorf("_meta %q must be a string such as \"no-cache\" or \"max-age=30\"", metaCacheControl)
	}
	c, err := cache.ParseControl(s)
	if err != nil {
		return cache.Control{}, fmt.Errorf("_meta %q: %w", metaCacheControl, err)
	}
	return c, nil
}
