package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/mcp-bridge/mcp-bridge/src/pipepoll"
)

// The child's floor: a bare net/http server that sends each REST body, as
// the params of a JSON-RPC tools/call, straight to its own copy of the
// measured MCP child and answers the child's answer line. One call at a
// time, no queue, no pool, no MCP server of its own; it polls for the
// answer as the floor does. Against it, the bridge's c=1 latency shows its
// own part apart from the child's.

// childRelay is the child floor's handler and its child.
type childRelay struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	mu   sync.Mutex // guards the child: one call at a time
	id   int
	poll *pipepoll.Reader
	out  *bufio.Reader
	line []byte
}

// startChildRelay starts ch's command and initializes it.
func startChildRelay(ch *child) (*childRelay, error) {
	cmd := exec.Command(ch.command[0], ch.command[1:]...)
	cmd.Env = append(os.Environ(), ch.env...)
	in, poll, out, err := startPiped(cmd, "the child floor's child")
	if err != nil {
		return nil, err
	}
	r := &childRelay{cmd: cmd, in: in, poll: poll, out: out}
	if _, err := r.roundTrip(0, initializeBody); err != nil {
		r.close()
		return nil, fmt.Errorf("initializing the child floor's child: %w", err)
	}
	if _, err := in.Write(append(append([]byte(nil), initializedBody...), '\n')); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *childRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil || bytes.IndexByte(body, '\n') >= 0 {
		http.Error(w, "want one line of at most 1 MiB", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id++
	msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":`, r.id)
	msg = append(append(msg, body...), '}')
	ans, err := r.roundTrip(r.id, msg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(ans)
}

// roundTrip writes msg and returns the answer line to id, skipping the
// child's notifications. The caller holds mu (or owns r alone).
func (r *childRelay) roundTrip(id int, msg []byte) ([]byte, error) {
	if _, err := r.in.Write(append(msg, '\n')); err != nil {
		return nil, fmt.Errorf("writing to the child: %w", err)
	}
	want := []byte(`"id":` + strconv.Itoa(id))
	for {
		if r.out.Buffered() == 0 {
			r.poll.PollNext(floorPoll)
		}
		line, err := r.out.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("reading from the child: %w", err)
		}
		if i := bytes.Index(line, want); i >= 0 && (line[i+len(want)] == ',' || line[i+len(want)] == '}') &&
			!bytes.Contains(line, []byte(`"method":`)) {
			return bytes.TrimRight(line, "\r\n"), nil
		}
	}
}

// close ends the child's input and waits for it to exit.
func (r *childRelay) close() error {
	r.in.Close()
	return r.cmd.Wait()
}
