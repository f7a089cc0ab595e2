package mcpconn

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/mcp-bridge/mcp-bridge/src/jsonscan"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// lineReader splits newline-delimited JSON-RPC. It is not safe for
// concurrent use: the goroutine holding it (see read.go) owns it.
type lineReader struct {
	br      *bufio.Reader
	max     int    // longest accepted line, excluding the newline
	buf     []byte // reused across lines
	partial bool   // buf holds the start of a line whose read timed out
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next non-empty line without its "\n" or "\r\n". The
// slice is valid until the following call. A final line without a newline
// is returned before io.EOF. A line longer than max returns ErrLineTooLong.
func (r *lineReader) next() ([]byte, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			return line, nil
		}
	}
}

func (r *lineReader) readLine() ([]byte, error) {
	if !r.partial {
		r.buf = r.buf[:0]
	}
	r.partial = false
	for {
		chunk, err := r.br.ReadSlice('\n')
		n := len(r.buf) + len(chunk)
		if err == nil {
			n-- // the newline is not part of the line
		}
		if n > r.max {
			return nil, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, r.max)
		}
		switch {
		case err == nil:
			if len(r.buf) == 0 {
				return chunk[:len(chunk)-1], nil // no copy: the common case
			}
			r.buf = append(r.buf, chunk[:len(chunk)-1]...)
			return r.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.buf = append(r.buf, chunk...)
		case errors.Is(err, io.EOF) && len(r.buf)+len(chunk) > 0:
			r.buf = append(r.buf, chunk...)
			return r.buf, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The read was interrupted: keep what came, the next call
			// goes on with the same line.
			r.buf = append(r.buf, chunk...)
			r.partial = true
			return nil, err
		default:
			return nil, err
		}
	}
}

// wireMessage has the fields of every JSON-RPC message.
type wireMessage struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"` // nil: absent, so a response
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *jsonrpc.Error  `json:"error"`
}

// decodeMessage parses one line into a *jsonrpc.Request (call or
// notification) or *jsonrpc.Response. It follows jsonrpc.DecodeMessage but
// with encoding/json, which allocates far less per message.
func decodeMessage(line []byte) (jsonrpc.Message, error) {
	if resp, ok := decodeResult(line); ok {
		return resp, nil
	}
	return decodeSlow(line)
}

// decodeSlow is decodeMessage with encoding/json, for every message.
func decodeSlow(line []byte) (jsonrpc.Message, error) {
	if len(line) > 0 && line[0] == '[' {
		return nil, errors.New("JSON-RPC batches are not supported on stdio")
	}
	var w wireMessage
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, fmt.Errorf("decoding JSON-RPC message: %w", err)
	}
	if w.Version != "2.0" {
		return nil, fmt.Errorf("invalid jsonrpc version %q", w.Version)
	}
	id, err := decodeID(w.ID)
	if err != nil {
		return nil, err
	}
	if w.Method != nil {
		if *w.Method == "" {
			return nil, errors.New("empty method")
		}
		return &jsonrpc.Request{ID: id, Method: *w.Method, Params: w.Params}, nil
	}
	if !id.IsValid() {
		return nil, errors.New("response without an id")
	}
	resp := &jsonrpc.Response{ID: id, Result: w.Result}
	if w.Error != nil { // never a typed nil in the error interface
		resp.Error = w.Error
	}
	return resp, nil
}

// decodeID parses a JSON-RPC id: absent or null (invalid ID), a string, or
// an integer.
func decodeID(raw json.RawMessage) (jsonrpc.ID, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return jsonrpc.ID{}, nil
	}
	if n, ok := jsonscan.SmallInt(raw); ok { // ours: no decoding
		return jsonrpc.MakeID(float64(n))
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return jsonrpc.ID{}, err
	}
	if f, ok := v.(float64); ok && f != math.Trunc(f) {
		return jsonrpc.ID{}, fmt.Errorf("invalid id %s", raw)
	}
	return jsonrpc.MakeID(v)
}

// appendRequest appends a request with id (or, if !hasID, a notification)
// as one line, newline included, in the bytes jsonrpc.EncodeMessage would
// produce: params compacted, HTML characters not escaped.
func appendRequest(b []byte, id int64, hasID bool, method string, params json.RawMessage) ([]byte, error) {
	b = append(b, `{"jsonrpc":"2.0"`...)
	if hasID {
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, `,"method":`...)
	b, err := appendJSONString(b, method)
	if err != nil {
		return b, err
	}
	if len(params) > 0 {
		b = append(b, `,"params":`...)
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, params); err != nil {
			return b, fmt.Errorf("params: %w", err)
		}
		b = buf.Bytes()
	}
	return append(b, "}\n"...), nil
}

// appendJSONString appends s as a JSON string, as json.Encoder does
// without HTML escaping.
func appendJSONString(b []byte, s string) ([]byte, error) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\'
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return b, err
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// decodeResult decodes the usual answer, {"jsonrpc":"2.0","id":N,
// "result":...}, with one validating scan and no encoding/json decoding.
// ok is false for anything else, which decodeMessage then decodes.
func decodeResult(line []byte) (resp *jsonrpc.Response, ok bool) {
	const prefix, member = `{"jsonrpc":"2.0","id":`, `,"result":`
	rest, found := bytes.CutPrefix(line, []byte(prefix))
	if !found {
		return nil, false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	id, isInt := jsonscan.SmallInt(rest[:n])
	body, found := bytes.CutPrefix(rest[n:], []byte(member))
	body = bytes.TrimRight(body, " \t\r\n")
	if !isInt || !found || len(body) < 2 || body[len(body)-1] != '}' {
		return nil, false
	}
	result := bytes.TrimSpace(body[:len(body)-1])
	if !json.Valid(result) { // a valid value followed by the closing brace: the line is valid too
		return nil, false
	}
	jid, err := jsonrpc.MakeID(float64(id))
	if err != nil {
		return nil, false
	}
	return &jsonrpc.Response{ID: jid, Result: bytes.Clone(result)}, true
}

// encodeMessage renders msg as one line, newline included.
func encodeMessage(msg jsonrpc.Message) ([]byte, error) {
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(data, '\n') >= 0 { // json.Marshal escapes newlines in strings
		return nil, errors.New("encoded message contains a newline")
	}
	return append(data, '\n'), nil
}
