//go:build fault

package main

// A misbehaving child for the fault suite: this test binary, re-executed by
// the bridge's pool, runs the real "mcp_bridge_addon stdio" as its own child
// and relays its stdin and stdout, misbehaving when the test says so. The
// test steers it through files in a control directory: "start" holding
// "exit" makes new children exit at start; "<pid>" holding "hang" or
// "garbage" makes that child stop reading and answering, or write garbage
// to stdout before each line it relays.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Environment of the misbehaving child.
const (
	envFaultCtrl = "MCP_BRIDGE_FAULT_CTRL" // the control directory; set: run as the misbehaving child
	envFaultReal = "MCP_BRIDGE_FAULT_REAL" // the real binary to relay to
)

func init() {
	// The child must not run the tests: it takes over before TestMain.
	if dir := os.Getenv(envFaultCtrl); dir != "" {
		os.Exit(faultChild(dir))
	}
}

// garbage is what a child in "garbage" mode writes, in turn, before a line.
var garbage = []string{
	"\x00\xff\xfe not json at all",
	`{"jsonrpc":"2.0","id":`,
	`{"jsonrpc":"2.0","id":987654321,"result":{"content":[]}}`,
	`{"jsonrpc":"2.0","id":"no-such-call","error":{"code":-32603,"message":"garbage"}}`,
	"Starting server... (a log line on stdout)",
	`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"` + strings.Repeat("x", 256<<10) + `"}}`,
}

func faultChild(dir string) int {
	if mode(filepath.Join(dir, "start")) == "exit" {
		fmt.Fprintln(os.Stderr, "fault child: exiting at start")
		return 3
	}
	cmd := exec.Command(os.Getenv(envFaultReal), "stdio")
	cmd.Env = append(os.Environ(), envFaultCtrl+"=", envConfig+"=")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return 4
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 4
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "fault child:", err)
		return 4
	}
	self := filepath.Join(dir, strconv.Itoa(os.Getpid()))
	var wg sync.WaitGroup
	wg.Go(func() {
		defer in.Close()
		relay(os.Stdin, in, func() string { return mode(self) }, false)
	})
	wg.Go(func() { relay(out, os.Stdout, func() string { return mode(self) }, true) })
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		return 1
	}
	return 0
}

// relay copies lines from r to w. In "hang" mode lines are dropped; in
// "garbage" mode (on the child's output) a garbage line goes first.
func relay(r io.Reader, w io.Writer, mode func() string, output bool) {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			switch mode() {
			case "hang":
				continue
			case "garbage":
				if output {
					if _, err := io.WriteString(w, garbage[n%len(garbage)]+"\n"); err != nil {
						return
					}
					n++
				}
			}
			if _, err := w.Write(line); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// mode returns the content of a control file, or "" if there is none.
func mode(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
