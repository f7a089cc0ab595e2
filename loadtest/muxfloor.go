package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
)

// The floor above concurrency 1 ("floor-mux"): what any bridge that
// carries many calls at once over one pipe to a stdio child pays at least.
// A bare net/http server writes each request body, as one line with a
// sequence number before it, to an echo child (the floor's), under a lock;
// one goroutine reads the echoed lines and hands each to the handler
// waiting for its number. No JSON, no queue, no pool, no authentication:
// a relay of bytes. The bridge's req/s at c=8 and c=64 are reported
// against it as well as against the bare server.

// muxFloor names the multiplexing floor's rows.
const muxFloor = "floor-mux"

// muxRelay is the multiplexing floor's HTTP handler and its echo child.
type muxRelay struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader

	wmu sync.Mutex // one write to the child at a time

	mu      sync.Mutex // guards next, waiting, err
	next    uint64
	waiting map[uint64]chan []byte
	err     error         // why reading ended
	done    chan struct{} // closed when reading ends
}

// startMuxRelay starts the echo child (this binary, re-executed) and the
// goroutine that reads it.
func startMuxRelay() (*muxRelay, error) {
	cmd, in, _, out, err := startEcho("the multiplexing floor's echo child")
	if err != nil {
		return nil, err
	}
	m := &muxRelay{cmd: cmd, in: in, out: out, waiting: make(map[uint64]chan []byte), done: make(chan struct{})}
	go m.read()
	return m, nil
}

// read hands each echoed line to the call waiting for its number until the
// child's output ends.
func (m *muxRelay) read() {
	var err error
	for {
		var line []byte
		line, err = m.out.ReadBytes('\n')
		if err != nil {
			break
		}
		num, body, ok := bytes.Cut(line[:len(line)-1], []byte{' '})
		seq, perr := strconv.ParseUint(string(num), 10, 64)
		if !ok || perr != nil {
			err = fmt.Errorf("the echo child answered %.100q", line)
			break
		}
		m.mu.Lock()
		ch := m.waiting[seq]
		delete(m.waiting, seq)
		m.mu.Unlock()
		if ch != nil {
			ch <- body
		}
	}
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
	close(m.done)
}

func (m *muxRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil || bytes.IndexByte(body, '\n') >= 0 {
		http.Error(w, "want one line of at most 1 MiB", http.StatusBadRequest)
		return
	}
	ch := make(chan []byte, 1)
	m.mu.Lock()
	m.next++
	seq := m.next
	m.waiting[seq] = ch
	m.mu.Unlock()
	line := strconv.AppendUint(make([]byte, 0, len(body)+24), seq, 10)
	line = append(append(append(line, ' '), body...), '\n')
	m.wmu.Lock()
	_, err = m.in.Write(line)
	m.wmu.Unlock()
	if err != nil {
		m.forget(seq)
		http.Error(w, "writing to the echo child: "+err.Error(), http.StatusBadGateway)
		return
	}
	select {
	case ans := <-ch:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(ans)
	case <-m.done:
		m.forget(seq)
		m.mu.Lock()
		err := m.err
		m.mu.Unlock()
		http.Error(w, fmt.Sprintf("reading from the echo child: %v", err), http.StatusBadGateway)
	case <-req.Context().Done():
		m.forget(seq)
	}
}

func (m *muxRelay) forget(seq uint64) {
	m.mu.Lock()
	delete(m.waiting, seq)
	m.mu.Unlock()
}

// close ends the child's input and waits for it to exit and for reading
// to end.
func (m *muxRelay) close() error {
	m.in.Close()
	err := m.cmd.Wait()
	<-m.done
	if m.err != nil && !errors.Is(m.err, io.EOF) {
		return errors.Join(err, m.err)
	}
	return err
}
