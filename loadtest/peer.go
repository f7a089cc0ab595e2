package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The peer: punkpeye's mcp-proxy (npm), the best-known server of a stdio
// MCP child over Streamable HTTP (/mcp) and HTTP+SSE (/sse), started on
// 127.0.0.1 with the same child as the bridge. It shares one child among
// all its sessions.

// peer is a running mcp-proxy.
type peer struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	done chan error
}

// peerScript is mcp-proxy's command-line entry point under npmDir.
func peerScript(npmDir string) string {
	return filepath.Join(npmDir, "node_modules", "mcp-proxy", "dist", "bin", "mcp-proxy.mjs")
}

// startPeer starts mcp-proxy in front of ch, with extra flags, and waits
// until it serves.
func startPeer(npmDir string, ch *child, extra []string) (*peer, error) {
	script := peerScript(npmDir)
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("mcp-proxy is not installed (npm ci --prefix %s): %w", npmDir, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{script, "--port", strconv.Itoa(port), "--host", "127.0.0.1"}, extra...)
	args = append(append(args, "--"), ch.command...)
	cmd := exec.Command("node", args...)
	cmd.Env = append(append(os.Environ(), ch.env...), "NODE_ENV=production")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its child goes with it
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting mcp-proxy: %w", err)
	}
	p := &peer{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitReady(60 * time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitReady waits until /mcp answers (anything) or the proxy exits.
func (p *peer) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("mcp-proxy exited: %v", err)
		default:
		}
		if resp, err := client.Get(p.url + "/ping"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("mcp-proxy did not start serving in time")
}

// stop ends mcp-proxy and its child: SIGTERM to its process group, then
// SIGKILL if it lingers.
func (p *peer) stop() error {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // the child, should it outlive the proxy
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
