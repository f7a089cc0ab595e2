package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/jsonlimit"
	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
)

// The fast path. The SDK serves a tools/call by handing it from the HTTP
// request's goroutine to the session's, which runs the call and hands the
// answer back through the request's event stream: two wake-ups and an event
// stream per call, which cost Streamable HTTP 3-5x the REST API's CPU per
// call. Most calls need none of it: a plain tools/call (no progress token)
// on an existing session whose client takes no requests from children
// (sampling, elicitation, roots) and set no log level has nothing to send
// but its answer. The fast path answers those on the request's goroutine,
// as one JSON body (the client accepts JSON, as the specification requires
// of every client), with the JSON-RPC message the SDK would send: the same
// bridge call and result, the common text result as the child wrote it
// (see plainResult), any other decoded and encoded as the SDK does.
// Everything else, and anything the fast path is unsure of, goes to the
// SDK unchanged.
//
// The client closing the connection cancels a fast call, since no one could
// read its answer; notifications/cancelled cancels it as it does the SDK's
// calls. The 2026-07-28 era is not served here: its stateless requests need
// the SDK's header and _meta validation and the bridge's input_required
// rounds.

// fastCall answers r if it is a call the fast path serves, and reports
// whether it did.
func (h *Handler) fastCall(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost || !h.fastOn.Load() || !plainPost(r) {
		return false
	}
	body, ok := r.Body.(*bodyReader)
	if !ok {
		return false
	}
	s := h.sessions.get(r.Header.Get("Mcp-Session-Id"))
	if s == nil || s.owner != h.cfg.Identity(r) || !s.fast() {
		return false // the SDK answers, or refuses
	}
	id, p, ok := parseCall(body.data)
	if !ok {
		return false
	}
	br, err := toolRequest(p.Name, p.Arguments, p.Meta, s.ss, s.owner)
	if err != nil {
		return false // the SDK answers the same error with the request's id
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if !s.addCall(id, cancel) {
		return false
	}
	defer s.endCall(id)
	s.start()
	defer s.end(h.sessions.timeout)
	h.fastCalls.Add(1)

	data := h.answer(ctx, s.ss, id, br)
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache, no-transform")
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return true
}

// answer runs the call br of the session ss and returns the JSON-RPC
// answer to id. A plain result (plainResult) goes out as the child sent it,
// in the envelope the SDK would put it in, as the REST API sends it: decoding
// it into the SDK's type and encoding it again cost a Streamable HTTP call
// 45 µs of CPU at c=1 and would only sort its keys. Any other is decoded and
// encoded as the SDK does.
func (h *Handler) answer(ctx context.Context, ss *mcp.ServerSession, id jsonrpc.ID, br bridge.Request) []byte {
	raw, err := h.toolResult(ctx, ss, br)
	if err == nil && plainResult(raw) {
		if data, ok := appendAnswer(make([]byte, 0, len(raw)+48), id, raw); ok {
			return data
		}
	}
	resp := &jsonrpc.Response{ID: id}
	if err == nil {
		var res *mcp.CallToolResult
		if res, err = decodeToolResult(raw); err == nil {
			resp.Result, err = marshalSDK(res)
		}
	}
	if err != nil {
		resp.Error = rpcError(err)
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		h.log.Warn().Err(err).Msg("encoding a tools/call answer")
		data, _ = jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: rpcError(err)})
	}
	return data
}

// appendAnswer appends the JSON-RPC answer to id with result, as the SDK's
// JSON-RPC layer encodes it, and reports false for an id it cannot encode.
func appendAnswer(b []byte, id jsonrpc.ID, result json.RawMessage) ([]byte, bool) {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	switch v := id.Raw().(type) {
	case int64:
		b = strconv.AppendInt(b, v, 10)
	case string:
		s, err := marshalSDK(v)
		if err != nil {
			return nil, false
		}
		b = append(b, s...)
	default:
		return nil, false
	}
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}'), true
}

// marshalSDK encodes v as the SDK's JSON-RPC layer does: like
// json.Marshal, without escaping HTML.
func marshalSDK(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// sdkVersions lists the MCP-Protocol-Version values the SDK's session
// handler accepts (go-sdk v1.8.0's supported versions before 2026-07-28).
var sdkVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// plainPost reports whether r passes every check the SDK makes of a POST
// to a session before it reads the message: JSON content, an Accept header
// with JSON and event streams, a version it serves, no Last-Event-ID, a
// loopback Host on a loopback connection.
func plainPost(r *http.Request) bool {
	hd := r.Header
	if v := hd.Get("MCP-Protocol-Version"); v != "" && !slices.Contains(sdkVersions, v) {
		return false
	}
	if len(hd.Values("Last-Event-ID")) > 0 {
		return false
	}
	if ct := hd.Get("Content-Type"); ct != "application/json" {
		if base, _, err := mime.ParseMediaType(ct); err != nil || base != "application/json" {
			return false
		}
	}
	if jsonOK, streamOK := accepts(hd.Values("Accept")); !jsonOK || !streamOK {
		return false
	}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil {
		if loopback(local.String()) && !loopback(r.Host) {
			return false
		}
	}
	return true
}

// accepts reads an Accept header as the SDK does.
func accepts(values []string) (jsonOK, streamOK bool) {
	for _, value := range values {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// loopback reports whether addr (host, or host:port) is this machine, as
// the SDK decides it.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// callParams is a tools/call's params as the fast path takes them.
type callParams struct {
	Name      string
	Arguments json.RawMessage
	Meta      mcp.Meta
}

// parseCall reads a POST body that is one JSON-RPC tools/call with
// nothing in it but a name, arguments (an object) and a _meta without a
// progress token or the 2026-07-28 era's keys. Anything else, or anything
// the SDK might read otherwise (a key given twice, or spelled with
// escapes), reports false. It walks the body's members rather than
// decoding it into maps, which cost 6 µs a call.
func parseCall(data []byte) (id jsonrpc.ID, p callParams, ok bool) {
	if !jsonlimit.ValidUnique(data) {
		return id, p, false
	}
	n, named := 0, false
	ok = jsonscan.Every(data, func(key, val []byte) bool {
		n++
		switch string(key) {
		case `"jsonrpc"`:
			return string(val) == `"2.0"`
		case `"method"`:
			return string(val) == `"tools/call"`
		case `"id"`:
			var idOK bool
			id, idOK = callID(val)
			return idOK
		case `"params"`:
			var paramsOK bool
			named, paramsOK = callParamsOf(val, &p)
			return paramsOK
		}
		return false
	})
	return id, p, ok && n == 4 && named
}

// callParamsOf reads a tools/call's params, valid JSON without duplicate
// keys, into p, and reports whether they name a tool and whether the fast
// path takes them.
func callParamsOf(params []byte, p *callParams) (named, ok bool) {
	ok = jsonscan.Every(params, func(key, val []byte) bool {
		switch string(key) {
		case `"name"`:
			named = true
			return json.Unmarshal(val, &p.Name) == nil
		case `"arguments"`:
			p.Arguments = val
			return val[0] == '{'
		case `"_meta"`:
			return val[0] == '{' && json.Unmarshal(val, &p.Meta) == nil && plainMeta(p.Meta)
		}
		return false
	})
	return named, ok
}

// plainMeta reports whether a call's _meta asks for nothing the fast path
// leaves to the SDK: progress, or the 2026-07-28 era.
func plainMeta(m mcp.Meta) bool {
	for k := range m {
		if k == "progressToken" || strings.HasPrefix(k, "io.modelcontextprotocol/") {
			return false
		}
	}
	return true
}

// callID reads a request id as the SDK does: a string, or an integer.
func callID(raw json.RawMessage) (jsonrpc.ID, bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return jsonrpc.ID{}, false
	}
	switch v := v.(type) {
	case string:
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return jsonrpc.ID{}, false
		}
	default:
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(v)
	return id, err == nil
}

// cancelFast cancels the fast path's call that a notifications/cancelled
// in r names. The SDK gets the notification too, and ignores it.
func (h *Handler) cancelFast(r *http.Request) {
	s := h.sessions.get(r.Header.Get("Mcp-Session-Id"))
	if s == nil || !s.servedBy(h.cfg.Identity(r)) {
		return
	}
	if id, ok := cancelledID(r); ok {
		s.cancelCall(id)
	}
}

// cancelledID returns the request id that r's notifications/cancelled
// names, if r posts one.
func cancelledID(r *http.Request) (jsonrpc.ID, bool) {
	body, ok := r.Body.(*bodyReader)
	if !ok || r.Method != http.MethodPost || !bytes.Contains(body.data, []byte(`"notifications/cancelled"`)) {
		return jsonrpc.ID{}, false
	}
	var n struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body.data, &n) != nil || n.Method != "notifications/cancelled" {
		return jsonrpc.ID{}, false
	}
	return callID(n.Params.RequestID)
}
