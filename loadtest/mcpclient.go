package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
)

// Minimal MCP clients for the load: each worker opens an MCP session of its
// own (initialize, notifications/initialized) and then sends tools/call
// after tools/call on it. They are written on net/http rather than an SDK
// client so that the client's share of this machine's CPU stays small and
// the same for the bridge and its peer.

// clientVersion is the protocol version the clients ask for; the bridge and
// mcp-proxy both serve it with sessions.
const clientVersion = "2025-06-18"

// initializeBody is the first message of every session.
var initializeBody = []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + clientVersion +
	`","capabilities":{},"clientInfo":{"name":"mcp-bridge-loadtest","version":"1"}}}`)

var initializedBody = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// appendCall appends the JSON-RPC tools/call of worker w's i-th call, with
// id i+1 (initialize has 0).
func appendCall(b []byte, calls callSpec, w, i int) []byte {
	b = fmt.Appendf(b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":`, i+1, calls.tool)
	b = calls.args(b, w, i)
	return append(b, "}}"...)
}

// rpcHead is what the clients read of a JSON-RPC message to route it.
type rpcHead struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// isAnswerTo reports whether msg answers request id; an error answer to id
// is returned as an error.
//
// The common answer, a result for id, is recognized by walking the
// message's members without decoding it (the caller's check of the answer
// then reads all of it); anything else is decoded. The load client thus
// spends about what the REST API's client does on the body, whatever the
// server's key order.
func isAnswerTo(msg []byte, id int) (bool, error) {
	var want [20]byte
	var idRaw []byte
	other := false // a method, an error, or a member twice
	if jsonscan.Members(msg, func(key, val []byte, _ int) bool {
		switch {
		case jsonscan.KeyIs(key, "id"):
			other = other || idRaw != nil
			idRaw = val
		case jsonscan.KeyIs(key, "method"), jsonscan.KeyIs(key, "error"):
			other = true
		}
		return !other
	}) && !other && bytes.Equal(idRaw, strconv.AppendInt(want[:0], int64(id), 10)) {
		return true, nil
	}
	var h rpcHead
	if err := json.Unmarshal(msg, &h); err != nil {
		return false, fmt.Errorf("decoding %.200q: %w", msg, err)
	}
	if h.Method != "" || h.ID == nil { // a request or notification from the server
		return false, nil
	}
	if string(h.ID) != strconv.Itoa(id) {
		return false, fmt.Errorf("answer to id %s while waiting for %d: %.200s", h.ID, id, msg)
	}
	if h.Error != nil {
		return true, fmt.Errorf("error %d: %s", h.Error.Code, h.Error.Message)
	}
	return true, nil
}

// sseReader reads Server-Sent Events: "event:" and "data:" lines, comments
// (":"), and a blank line ending each event.
type sseReader struct {
	br    *bufio.Reader
	event []byte
	data  []byte
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReaderSize(r, 16<<10)} }

// next returns the next event's name ("message" if none was given) and
// data; both are valid until the next call.
func (r *sseReader) next() (event string, data []byte, err error) {
	r.event, r.data = r.event[:0], r.data[:0]
	seen := false
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if errors.Is(err, io.EOF) && seen {
				err = io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if !seen {
				continue
			}
			if len(r.event) == 0 {
				return "message", r.data, nil
			}
			return string(r.event), r.data, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "": // a comment
		case "event":
			r.event, seen = append(r.event[:0], value...), true
		case "data":
			if seen && len(r.data) > 0 {
				r.data = append(r.data, '\n')
			}
			r.data, seen = append(r.data, value...), true
		default: // id, retry
			seen = true
		}
	}
}

// answerIn reads events until the answer to id, and returns it.
func answerIn(r *sseReader, id int) ([]byte, error) {
	for {
		event, data, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("reading the event stream: %w", err)
		}
		if event != "message" || len(data) == 0 {
			continue
		}
		ok, err := isAnswerTo(data, id)
		if err != nil || ok {
			return data, err
		}
	}
}

// mcpEndpoint is a server's MCP endpoint and its bearer token, if any.
type mcpEndpoint struct {
	url   string
	token string
}

func (e mcpEndpoint) newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	return req, nil
}

// streamableTarget drives Streamable HTTP (POST /mcp, one session per
// worker).
func streamableTarget(name string, e mcpEndpoint, calls callSpec) target {
	return target{name: name, open: func(ctx context.Context, client *http.Client, w int) (session, error) {
		s := &streamableSession{client: client, e: e, calls: calls, w: w}
		ans, err := s.post(ctx, initializeBody, 0)
		if err != nil {
			return nil, fmt.Errorf("initialize: %w", err)
		}
		var init struct {
			Result struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"result"`
		}
		if err := json.Unmarshal(ans, &init); err != nil || init.Result.ProtocolVersion == "" {
			return nil, fmt.Errorf("initialize answered %.200q", ans)
		}
		s.version = init.Result.ProtocolVersion
		if _, err := s.post(ctx, initializedBody, -1); err != nil {
			return nil, fmt.Errorf("notifications/initialized: %w", err)
		}
		return s, nil
	}}
}

// streamableSession is one worker's Streamable HTTP session.
type streamableSession struct {
	client  *http.Client
	e       mcpEndpoint
	calls   callSpec
	w       int
	id      string // Mcp-Session-Id
	version string // MCP-Protocol-Version, once negotiated
	events  *sseReader
	buf     []byte
	body    bytes.Buffer
}

func (s *streamableSession) call(ctx context.Context, i int) error {
	s.buf = appendCall(s.buf[:0], s.calls, s.w, i)
	ans, err := s.post(ctx, s.buf, i+1)
	if err != nil {
		return err
	}
	return s.calls.check(s.w, i, ans)
}

// post sends one message and returns the answer to id, from a JSON body or
// from the event stream the server opened for it. A notification (id -1)
// wants 202 Accepted.
func (s *streamableSession) post(ctx context.Context, msg []byte, id int) ([]byte, error) {
	req, err := s.e.newRequest(ctx, http.MethodPost, s.e.url, msg)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	if s.version != "" {
		req.Header.Set("MCP-Protocol-Version", s.version)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" && s.id == "" {
		s.id = sid
	}
	switch {
	case id < 0 && resp.StatusCode == http.StatusAccepted:
		_, err := io.Copy(io.Discard, resp.Body)
		return nil, err
	case resp.StatusCode != http.StatusOK:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "text/event-stream" {
		if s.events == nil {
			s.events = newSSEReader(resp.Body)
		} else {
			s.events.br.Reset(resp.Body)
		}
		ans, err := answerIn(s.events, id) // valid until the next read of events
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body) // the stream ends after the answer; keep the connection
		}
		return ans, err
	}
	s.body.Reset()
	if _, err := s.body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if _, err := isAnswerTo(s.body.Bytes(), id); err != nil {
		return nil, err
	}
	return s.body.Bytes(), nil
}

// close ends the session with DELETE, as a well-behaved client does.
func (s *streamableSession) close() {
	if s.id == "" {
		return
	}
	req, err := s.e.newRequest(context.Background(), http.MethodDelete, s.e.url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", s.id)
	if s.version != "" {
		req.Header.Set("MCP-Protocol-Version", s.version)
	}
	if resp, err := s.client.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// sseTarget drives the HTTP+SSE transport: GET opens the worker's stream,
// whose first event names the URL its messages are POSTed to; answers come
// back on the stream.
func sseTarget(name string, e mcpEndpoint, calls callSpec) target {
	return target{name: name, open: func(ctx context.Context, client *http.Client, w int) (session, error) {
		s := &sseSession{client: client, e: e, calls: calls, w: w}
		if err := s.connect(ctx); err != nil {
			s.close()
			return nil, err
		}
		return s, nil
	}}
}

// sseSession is one worker's HTTP+SSE session.
type sseSession struct {
	client   *http.Client
	e        mcpEndpoint
	calls    callSpec
	w        int
	stop     context.CancelFunc // ends the stream
	stream   io.ReadCloser
	events   *sseReader
	postURL  string
	buf, ans []byte
}

func (s *sseSession) connect(ctx context.Context) error {
	sctx, stop := context.WithCancel(context.Background()) // the stream outlives ctx
	s.stop = stop
	req, err := s.e.newRequest(sctx, http.MethodGet, s.e.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("opening the event stream: %w", err)
	}
	s.stream = resp.Body
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("opening the event stream: status %d", resp.StatusCode)
	}
	s.events = newSSEReader(resp.Body)
	unblock := context.AfterFunc(ctx, stop)
	defer unblock()
	event, data, err := s.events.next()
	if err != nil || event != "endpoint" {
		return fmt.Errorf("want an endpoint event first, got %q %.200q (%v)", event, data, err)
	}
	ref, err := url.Parse(string(data))
	base, _ := url.Parse(s.e.url)
	if err != nil || base == nil {
		return fmt.Errorf("bad endpoint %q: %v", data, err)
	}
	s.postURL = base.ResolveReference(ref).String()
	if _, err := s.send(ctx, initializeBody, 0); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if _, err := s.send(ctx, initializedBody, -1); err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}
	return nil
}

func (s *sseSession) call(ctx context.Context, i int) error {
	unblock := context.AfterFunc(ctx, s.stop) // a level that ends stops a wait for the stream
	defer unblock()
	s.buf = appendCall(s.buf[:0], s.calls, s.w, i)
	ans, err := s.send(ctx, s.buf, i+1)
	if err != nil {
		return err
	}
	return s.calls.check(s.w, i, ans)
}

// send POSTs one message and, unless it is a notification (id -1), reads
// the stream until its answer.
func (s *sseSession) send(ctx context.Context, msg []byte, id int) ([]byte, error) {
	req, err := s.e.newRequest(ctx, http.MethodPost, s.postURL, msg)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST status %d", resp.StatusCode)
	}
	if id < 0 {
		return nil, nil
	}
	ans, err := answerIn(s.events, id)
	if err != nil {
		return nil, err
	}
	s.ans = append(s.ans[:0], ans...)
	return s.ans, nil
}

func (s *sseSession) close() {
	if s.stop != nil {
		s.stop()
	}
	if s.stream != nil {
		s.stream.Close()
	}
}
