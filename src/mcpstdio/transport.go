// Package mcpstdio is the MCP server transport of `mcp_bridge_addon stdio`:
// newline-delimited JSON-RPC over stdin and stdout, read and framed as
// go-sdk's mcp.StdioTransport does, but with the common request decoded
// without go-sdk's JSON decoder, which allocates a fresh 32 KiB buffer on
// each of the three passes it makes over every message. In a child that
// answers a call in a few hundred microseconds those buffers were most of
// its garbage and started a collection every few calls.
package mcpstdio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Transport is an mcp.Transport over Reader and Writer, one connection
// per Connect. The zero value serves stdin and stdout, like
// mcp.StdioTransport; closing the connection closes stdin, never stdout.
type Transport struct {
	Reader io.ReadCloser  // If nil, defaults to os.Stdin.
	Writer io.WriteCloser // If nil, defaults to os.Stdout, which is never closed.
	// MaxLineLength bounds the bytes buffered while reading one message,
	// as in mcp.StdioTransport. If zero, defaults to
	// mcp.DefaultMaxLineLength; if negative, there is no bound.
	MaxLineLength int
}

// Connect implements mcp.Transport.
func (t *Transport) Connect(context.Context) (mcp.Connection, error) {
	r, w := t.Reader, t.Writer
	if r == nil {
		r = stdin()
	}
	release := func() {}
	if w == nil {
		w, release = stdout()
	}
	limit := t.MaxLineLength
	if limit == 0 {
		limit = mcp.DefaultMaxLineLength
	}
	c := &conn{r: r, w: w, release: release, closed: make(chan struct{})}
	if p, ok := r.(*rawPipe); ok {
		c.inline = newFramer(p, limit)
		return c, nil
	}
	incoming := make(chan frame)
	c.incoming = incoming
	go c.readFrames(incoming, limit)
	return c, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// frame is one JSON value read from the input, or the error that ended it.
type frame struct {
	msg json.RawMessage
	err error
}

// conn is one session's connection. Read is called by one goroutine at a
// time (go-sdk's reader); Write and Close are safe for concurrent use.
type conn struct {
	r       io.ReadCloser
	w       io.WriteCloser
	release func() // ends the use of stdout, after Close

	incoming <-chan frame
	// inline frames a rawPipe on Read's goroutine: a message then costs no
	// hand-off from a reading goroutine. Close, or ctx ending, interrupts
	// a Read parked in the poller.
	inline   *framer
	watchCtx context.Context // the ctx whose end interrupts r's reads
	stopCtx  func() bool
	queue    []jsonrpc.Message // the rest of the last batch read

	writeMu sync.Mutex // guards writes to w
	batches batches

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// framer reads JSON values from the input exactly as go-sdk's stdio
// connection frames them: one value per line, blank lines skipped,
// anything but a line end right after a value an error.
type framer struct {
	dec     *json.Decoder
	limiter *frameLimitReader // nil: no bound
}

func newFramer(r io.Reader, limit int) *framer {
	f := &framer{}
	if limit > 0 {
		f.limiter = &frameLimitReader{r: r, limit: limit}
		r = f.limiter
	}
	f.dec = json.NewDecoder(r)
	return f
}

// next returns the next value, or the error that ends the input.
func (f *framer) next() (json.RawMessage, error) {
	var raw json.RawMessage
	err := f.dec.Decode(&raw)
	if err == nil {
		var next [1]byte
		if n, rerr := f.dec.Buffered().Read(next[:]); n > 0 {
			if next[0] != '\n' && next[0] != '\r' {
				err = errors.New("invalid trailing data at the end of stream")
			}
		} else if rerr != nil && rerr != io.EOF {
			err = rerr
		}
	}
	if f.limiter != nil {
		f.limiter.count = 0
	}
	return raw, err
}

// readFrames reads frames until an error. It runs on a goroutine of its
// own so that Read returns as soon as the connection is closed, even while
// an input that the runtime cannot poll blocks; that goroutine ends when a
// read fails after Close (as go-sdk's does). Input it can poll (a rawPipe)
// is read by Read itself instead (see conn.inline).
func (c *conn) readFrames(incoming chan<- frame, limit int) {
	fr := newFramer(c.r, limit)
	for {
		raw, err := fr.next()
		select {
		case incoming <- frame{msg: raw, err: err}:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

// errFrameTooLarge is a message longer than MaxLineLength.
var errFrameTooLarge = errors.New("inbound JSON-RPC frame exceeded the configured maximum line length")

// frameLimitReader bounds the bytes the JSON decoder may buffer for one
// value: Read fails once limit bytes were read since count was reset.
type frameLimitReader struct {
	r            io.Reader
	limit, count int
}

func (r *frameLimitReader) Read(p []byte) (int, error) {
	if r.count >= r.limit {
		return 0, errFrameTooLarge
	}
	if len(p) > r.limit-r.count {
		p = p[:r.limit-r.count]
	}
	n, err := r.r.Read(p)
	r.count += n
	return n, err
}

func (c *conn) SessionID() string { return "" }

// Read implements mcp.Connection.
func (c *conn) Read(ctx context.Context) (jsonrpc.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.queue = c.queue[1:]
		return next, nil
	}
	var raw json.RawMessage
	if c.inline != nil {
		var err error
		if raw, err = c.readInline(ctx); err != nil {
			return nil, err
		}
	} else {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case f := <-c.incoming:
			if f.err != nil {
				return nil, f.err
			}
			raw = f.msg
		case <-c.closed:
			return nil, io.EOF
		}
	}
	if msg, ok := decodeRequest(raw); ok {
		c.batches.note(msg)
		return msg, nil
	}
	msgs, err := c.batches.decode(raw)
	if err != nil {
		return nil, err
	}
	c.queue = msgs[1:]
	return msgs[0], nil
}

// readInline reads the next frame from the pipe on the calling goroutine.
// It returns io.EOF once the connection is closed, and ctx's error once
// ctx ended. go-sdk reads with the same ctx each time: the watch on it is
// set once.
func (c *conn) readInline(ctx context.Context) (json.RawMessage, error) {
	if ctx != c.watchCtx {
		if c.stopCtx != nil {
			c.stopCtx()
		}
		c.watchCtx = ctx
		pipe := c.r.(*rawPipe)
		c.stopCtx = context.AfterFunc(ctx, func() { pipe.f.SetReadDeadline(time.Now()) })
	}
	raw, err := c.inline.next()
	if err != nil {
		select {
		case <-c.closed:
			return nil, io.EOF
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return raw, nil
}

// Write implements mcp.Connection: one message a line, in the bytes
// go-sdk's stdio connection writes; the answers to a batch go out
// together, as one array, once the last of them is written.
func (c *conn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	var data []byte
	if resp, ok := msg.(*jsonrpc.Response); ok {
		all, inBatch := c.batches.answer(resp)
		if inBatch && all == nil {
			return nil
		}
		if inBatch {
			var err error
			if data, err = encodeBatch(all); err != nil {
				return err
			}
		}
	}
	if data == nil {
		var err error
		if data, err = jsonrpc.EncodeMessage(msg); err != nil {
			return fmt.Errorf("marshaling message: %v", err)
		}
	}
	_, err := c.w.Write(append(data, '\n'))
	return err
}

// Close implements mcp.Connection: it closes the input (not stdout). It
// marks the connection closed before it closes the input, so that a Read
// waiting meanwhile returns io.EOF, not the error the closed input gives
// the reading goroutine (go-sdk's connection closes them in the other
// order, and its Read may return either).
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		// stdout is released first: were stdin and stdout one
		// description, closing stdin would make it blocking under
		// stdout's raw writes (rawStdio refuses that case too).
		c.release()
		c.closeErr = errors.Join(c.r.Close(), c.w.Close())
	})
	return c.closeErr
}
