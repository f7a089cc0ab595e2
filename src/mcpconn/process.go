package mcpconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a running child and the parent's ends of its pipes.
//
// The child leads its own process group so that stopping it also stops
// what it spawned: npx starts node, uvx starts python, and signalling only
// the direct child would orphan them.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // parent's write end; closed first when stopping
	stdout *os.File // parent's read end
	stderr *os.File // parent's read end
	exited chan struct{}
	// state is set before exited is closed.
	state   *os.ProcessState
	waitErr error
}

// spawn starts cfg.Command with fresh pipes. Pipes are made here, not with
// exec's StdinPipe/StdoutPipe, so that Wait does not race with our readers
// and our ends stay pollable (Close unblocks a pending Read or Write).
func spawn(cfg *Config) (*process, error) {
	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Dir = cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var ends [6]*os.File // child stdin r, parent w; parent r, child stdout w; parent r, child stderr w
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(ends[:i]...)
			return nil, fmt.Errorf("starting %s: %w", cfg.Name, err)
		}
		ends[i], ends[i+1] = r, w
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ends[0], ends[3], ends[5]
	err := cmd.Start()
	closeAll(ends[0], ends[3], ends[5]) // the child holds its own copies now
	if err != nil {
		closeAll(ends[1], ends[2], ends[4])
		return nil, fmt.Errorf("starting %s: %w", cfg.Name, err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, stdin: ends[1], stdout: ends[2], stderr: ends[4], exited: make(chan struct{})}
	return p, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// wait reaps the child; run by exactly one goroutine.
func (p *process) wait() {
	p.waitErr = p.cmd.Wait()
	p.state = p.cmd.ProcessState
	close(p.exited)
}

// signalGroup sends sig to the child's process group, falling back to the
// child alone if the group is gone.
func (p *process) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err == nil || !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return syscall.Kill(p.pid, sig)
}

// groupAlive reports whether any live process is left in the child's
// group. Zombies don't count: once the child is gone its orphans are reaped
// by init, which may take its time.
func (p *process) groupAlive() bool {
	if syscall.Kill(-p.pid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if pgrp, state, ok := procStat(e.Name()); ok && pgrp == p.pid && state != 'Z' {
			return true
		}
	}
	return false
}

// procStat reads the process group and state of /proc/<pid>.
func procStat(pid string) (pgrp int, state byte, ok bool) {
	if pid == "" || pid[0] < '0' || pid[0] > '9' {
		return 0, 0, false
	}
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	return pgrp, f[0][0], err == nil
}

// awaitExit waits up to d for the child to be reaped.
func (p *process) awaitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// stop follows the MCP stop order: close stdin, wait, SIGTERM, wait,
// SIGKILL, wait (each wait up to d, the last at least 5s). It returns the step that ended the
// child ("stdin", "SIGTERM" or "SIGKILL"), and an error only if the child
// survived SIGKILL. Leftovers in the process group are stopped too.
func (p *process) stop(d time.Duration) (string, error) {
	p.stdin.Close()
	step := "stdin"
	if !p.awaitExit(d) {
		step = "SIGTERM"
		if err := p.signalGroup(syscall.SIGTERM); err != nil || !p.awaitExit(d) {
			step = "SIGKILL"
			p.signalGroup(syscall.SIGKILL)
			if !p.awaitExit(max(d, 5*time.Second)) { // SIGKILL cannot be ignored: allow a loaded machine time
				return step, fmt.Errorf("child %d survived SIGKILL", p.pid)
			}
		}
	}
	p.stopGroup(d)
	return step, nil
}

// stopGroup terminates what the child left behind in its process group
// after it exited: SIGTERM, then SIGKILL if anything is left after d.
func (p *process) stopGroup(d time.Duration) {
	if !p.groupAlive() || syscall.Kill(-p.pid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(d)
	for p.groupAlive() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.groupAlive() {
		syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

// logStderr copies the child's stderr to the log, one entry per line;
// lines over 16 KiB are logged in pieces. It returns at EOF or when the
// pipe is closed.
func (s *Session) logStderr(r io.Reader) {
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if text := strings.TrimRight(string(line), "\r\n"); text != "" {
			s.log.Info().Str("stderr", text).Msg("child stderr")
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
