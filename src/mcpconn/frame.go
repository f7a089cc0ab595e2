package mcpconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// lineReader splits newline-delimited JSON-RPC. It is not safe for
// concurrent use: the session's read loop owns it.
type lineReader struct {
	br  *bufio.Reader
	max int    // longest accepted line, excluding the newline
	buf []byte // reused across lines
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
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.buf)+len(chunk) > r.max+1 { // +1: the newline itself
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
		default:
			return nil, err
		}
	}
}

// decodeMessage parses one line into a *jsonrpc.Request (call or
// notification) or *jsonrpc.Response.
func decodeMessage(line []byte) (jsonrpc.Message, error) {
	if len(line) > 0 && line[0] == '[' {
		return nil, errors.New("JSON-RPC batches are not supported on stdio")
	}
	msg, err := jsonrpc.DecodeMessage(line)
	if err != nil {
		return nil, err
	}
	return msg, nil
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
