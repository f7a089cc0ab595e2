package pooltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
)

// fastVersions are the protocol versions the fast child speaks, newest
// first; initialize answers the client's if listed, else the first.
var fastVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// fastTools is the fast child's tools/list result: echo alone.
const fastTools = `{"tools":[{"name":"echo","description":"Returns its arguments.",` +
	`"inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}}]}`

// JSON-RPC error codes the fast child answers.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternalError  = -32603
)

// maxFastLine bounds one request line, as a real server would.
const maxFastLine = 16 << 20

// fastServer is a hand-written MCP server over newline-delimited JSON-RPC,
// for load tests: it does the least a correct server must, so that the
// cost measured is the bridge's rather than an SDK's. It serves requests
// one at a time in arrival order and flushes its answers only when no
// complete request is waiting, so pipelined requests cost one write. It is
// not safe for concurrent use.
type fastServer struct {
	c   *child
	br  *bufio.Reader
	bw  *bufio.Writer
	buf []byte // a line longer than br's buffer
	out []byte // scratch for one answer
}

// serveFast serves MCP on r and w until r ends or w fails.
func (c *child) serveFast(r io.Reader, w io.Writer) error {
	s := &fastServer{c: c, br: bufio.NewReaderSize(r, 64<<10), bw: bufio.NewWriterSize(w, 64<<10)}
	for {
		line, err := s.readLine()
		if len(line) > 0 {
			s.handle(line)
		}
		if err != nil {
			if ferr := s.bw.Flush(); ferr != nil {
				return ferr
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !s.lineWaiting() {
			if err := s.bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// lineWaiting reports whether a whole request is already buffered.
func (s *fastServer) lineWaiting() bool {
	b, _ := s.br.Peek(s.br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// readLine returns the next line, trimmed; the slice is valid until the
// next call. A line over maxFastLine is answered with a parse error and
// skipped.
func (s *fastServer) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	tooLong := false
	for {
		chunk, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong && len(s.buf)+len(chunk) > maxFastLine {
				tooLong, s.buf = true, s.buf[:0]
			}
			if !tooLong {
				s.buf = append(s.buf, chunk...)
			}
			continue
		}
		if len(s.buf)+len(bytes.TrimRight(chunk, "\n")) > maxFastLine {
			tooLong = true
		}
		if tooLong {
			s.fail(nil, codeParseError, "parse error: request longer than "+strconv.Itoa(maxFastLine)+" bytes")
			return nil, err
		}
		line := chunk
		if len(s.buf) > 0 {
			s.buf = append(s.buf, chunk...)
			line = s.buf
		}
		return bytes.TrimSpace(line), err
	}
}

// fastMessage is one incoming JSON-RPC message.
type fastMessage struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// handle answers one line.
func (s *fastServer) handle(line []byte) {
	var m fastMessage
	if err := json.Unmarshal(line, &m); err != nil {
		s.fail(nil, codeParseError, "parse error: "+err.Error())
		return
	}
	isCall := len(m.ID) > 0 && string(m.ID) != "null"
	switch {
	case m.Version != "2.0":
		if isCall {
			s.fail(m.ID, codeInvalidRequest, `jsonrpc must be "2.0"`)
		}
	case m.Method == "":
		// A response: the fast child sends no requests, so nothing waits for it.
	case !isCall:
		if m.Method == "notifications/initialized" {
			s.c.rec.record(Event{Kind: "initialized"})
		}
	default:
		s.call(m)
	}
}

// call answers a request.
func (s *fastServer) call(m fastMessage) {
	switch m.Method {
	case "initialize":
		s.initialize(m)
	case "ping":
		s.reply(m.ID, []byte(`{}`))
	case "tools/list":
		s.reply(m.ID, []byte(fastTools))
	case "tools/call":
		s.toolsCall(m)
	default:
		s.fail(m.ID, codeMethodNotFound, "method not found: "+m.Method)
	}
}

func (s *fastServer) initialize(m fastMessage) {
	if s.c.opts.FailInitialize {
		s.fail(m.ID, codeInternalError, "pooltest: initialize refused as asked")
		return
	}
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.ProtocolVersion == "" {
		s.fail(m.ID, codeInvalidParams, "initialize: protocolVersion is required")
		return
	}
	version := fastVersions[0]
	if slices.Contains(fastVersions, p.ProtocolVersion) {
		version = p.ProtocolVersion
	}
	res, _ := json.Marshal(map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"tools": map[string]bool{"listChanged": false}},
		"serverInfo":      map[string]string{"name": s.c.opts.Name, "version": "1.0.0"},
		"instructions":    "pooltest child (fast)",
	})
	s.reply(m.ID, res)
}

// toolsCall runs echo: its arguments come back as text and as
// structuredContent.
func (s *fastServer) toolsCall(m fastMessage) {
	var p struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		s.fail(m.ID, codeInvalidParams, "tools/call: "+err.Error())
		return
	}
	if p.Name != "echo" {
		s.fail(m.ID, codeInvalidParams, "unknown tool "+strconv.Quote(p.Name))
		return
	}
	args := p.Arguments
	if len(args) == 0 || string(args) == "null" {
		args = []byte(`{}`)
	}
	if args[0] != '{' {
		s.fail(m.ID, codeInvalidParams, "tools/call: arguments must be an object")
		return
	}
	s.c.rec.record(Event{Kind: "call", Tool: "echo"})
	res := append(s.out[:0], `{"content":[{"type":"text","text":`...)
	res = appendJSONString(res, args)
	res = append(res, `}],"structuredContent":`...)
	res = append(res, args...)
	res = append(res, '}')
	s.out = res
	s.reply(m.ID, res)
}

// reply writes a result answer to id.
func (s *fastServer) reply(id json.RawMessage, result []byte) {
	s.bw.WriteString(`{"jsonrpc":"2.0","id":`)
	s.bw.Write(id)
	s.bw.WriteString(`,"result":`)
	s.bw.Write(result)
	s.bw.WriteString("}\n")
}

// fail writes an error answer to id (null when nil).
func (s *fastServer) fail(id json.RawMessage, code int, message string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	msg, _ := json.Marshal(message)
	s.bw.WriteString(`{"jsonrpc":"2.0","id":`)
	s.bw.Write(id)
	s.bw.WriteString(`,"error":{"code":`)
	s.bw.WriteString(strconv.Itoa(code))
	s.bw.WriteString(`,"message":`)
	s.bw.Write(msg)
	s.bw.WriteString("}}\n")
}

// appendJSONString appends s as a JSON string. s is valid JSON text, so
// only quotes, backslashes and control characters need escaping; JSON
// forbids raw control characters in strings but allows them nowhere else
// either, so in practice only the first two occur.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
