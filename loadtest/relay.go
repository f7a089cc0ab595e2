package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pipepoll"
)

// The floor of the c=1 latency: what any bridge to a stdio MCP server pays
// at least. A bare net/http server relays each request body, as one line,
// to an echo child over pipes and answers with the line read back: one
// process hop each way, and nothing else (no JSON, no queue, one call at a
// time). Like the bridge, it polls the pipe for up to floorPoll before it
// sleeps. The bridge's latency is reported against it as well as against
// the bare server.

// floorPoll is how long the relay polls for the echo, the bridge's most.
const floorPoll = 200 * time.Microsecond

// envEcho, set to "1", makes this binary serve as the relay's echo child.
const envEcho = "MCP_BRIDGE_LOADTEST_ECHO"

// echoMain serves as the echo child and exits when re-executed with
// envEcho; otherwise it returns at once.
func echoMain() {
	if os.Getenv(envEcho) != "1" {
		return
	}
	if err := echo(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// echo writes back every line it reads, as soon as it has read it, until r
// ends.
func echo(r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if _, werr := w.Write(chunk); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// relay is the floor's HTTP handler and its echo child.
type relay struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	mu   sync.Mutex // one call at a time on the child
	poll *pipepoll.Reader
	out  *bufio.Reader // over poll
}

// startRelay starts the echo child.
func startRelay() (*relay, error) {
	cmd, in, poll, out, err := startEcho("the echo child")
	if err != nil {
		return nil, err
	}
	return &relay{cmd: cmd, in: in, poll: poll, out: out}, nil
}

// startEcho starts an echo child (this binary, re-executed) with its
// stdin and stdout piped (see startPiped); what names it in errors.
func startEcho(what string) (*exec.Cmd, io.WriteCloser, *pipepoll.Reader, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envEcho+"=1")
	in, poll, out, err := startPiped(cmd, what)
	return cmd, in, poll, out, err
}

// startPiped starts cmd with its stdin and stdout piped (stderr passed on)
// and its output read through a polling reader, as the bridge reads its
// children. what names the child in errors.
func startPiped(cmd *exec.Cmd, what string) (io.WriteCloser, *pipepoll.Reader, *bufio.Reader, error) {
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("starting %s: %w", what, err)
	}
	f, ok := out.(*os.File)
	if !ok {
		return nil, nil, nil, fmt.Errorf("the output of %s is a %T, want a pipe", what, out)
	}
	poll := pipepoll.NewReader(f)
	return in, poll, bufio.NewReaderSize(poll, 64<<10), nil
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil || bytes.IndexByte(body, '\n') >= 0 {
		http.Error(w, "want one line of at most 1 MiB", http.StatusBadRequest)
		return
	}
	line, err := r.roundTrip(append(body, '\n'))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(line)
}

// roundTrip sends one line to the child and returns the line it answers,
// without its newline.
func (r *relay) roundTrip(line []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.in.Write(line); err != nil {
		return nil, fmt.Errorf("writing to the echo child: %w", err)
	}
	if r.out.Buffered() == 0 {
		r.poll.PollNext(floorPoll)
	}
	ans, err := r.out.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading from the echo child: %w", err)
	}
	return ans[:len(ans)-1], nil
}

// close ends the child's input and waits for it to exit.
func (r *relay) close() error {
	r.in.Close()
	return r.cmd.Wait()
}

// callBody appends worker w's i-th request body to the floor, the REST
// API's body of the fast child's echo.
func callBody(b []byte, w, i int) []byte {
	return fmt.Appendf(b, `{"name":"echo","arguments":{"w":%d,"i":%d}}`, w, i)
}

// checkRelay verifies that the relay answered worker w's i-th body.
func checkRelay(w, i int, body []byte) error {
	want := callBody(nil, w, i)
	if !bytes.Equal(body, want) {
		return fmt.Errorf("relay answered %.200q, want %q", body, want)
	}
	return nil
}
