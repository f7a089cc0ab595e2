package main

// End-to-end tests: they build the real binary once and run it against the
// fake Home Assistant, the way the Supervisor or a user would.

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

var (
	binDir   string // removed by TestMain
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcp_bridge_addon_e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds the real binary on first use, so that tests that do not
// need it do not pay for the build.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "mcp_bridge_addon")
		gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-o", binPath, "-ldflags", "-X main.version=9.9.9-e2e", ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer safe for the process's writer goroutine and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a running mcp_bridge_addon.
type process struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done
}

// baseEnv is the environment of every run: nothing inherited (no stray
// SUPERVISOR_TOKEN), and an options file that does not exist.
func baseEnv(t *testing.T, extra map[string]string) []string {
	env := []string{envOptions + "=" + filepath.Join(t.TempDir(), "options.json")}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func start(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary(t), args...), done: make(chan struct{})}
	p.cmd.Env = baseEnv(t, env)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("stderr of %v:\n%s", args, p.stderr.String())
		}
	})
	return p
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitCode waits for the process and returns its exit code.
func (p *process) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("process did not exit within 60 s")
	}
	var exitErr *exec.ExitError
	if errors.As(p.err, &exitErr) {
		return exitErr.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// runToEnd runs the binary to completion and returns its exit code.
func runToEnd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	code = p.exitCode(t)
	return code, p.stdout.String(), p.stderr.String()
}

// freePort returns a loopback port that was free a moment ago.
//
// It picks from 20000-32767, below Linux's ephemeral range (32768 and up),
// where port-0 listeners and outgoing connections of the tests running in
// parallel (other packages included) take theirs: a port the kernel handed
// out for ":0" and got back could be handed to another process before the
// bridge binds it, and the test would then talk to a stranger.
func freePort(t *testing.T) int {
	t.Helper()
	for range 1000 {
		port := 20000 + mathrand.IntN(12768)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // in use
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port in 20000-32767")
	return 0
}

// waitPort waits until something listens on port, failing the test if the
// process exits or 60 s pass first.
func waitPort(t *testing.T, p *process, port int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if !p.running() {
			t.Fatalf("process exited before opening port %d: %v", port, p.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("port %d not open after 60 s", port)
}

type answer struct {
	status int
	body   string
	header http.Header
}

func request(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body), resp.Header}
}

// waitStatus polls url until it answers want, failing after 60 s.
func waitStatus(t *testing.T, p *process, url string, want int) answer {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := request(t, url, "")
		if a.status == want {
			return a
		}
		if !p.running() {
			t.Fatalf("process exited while waiting for %s to answer %d: %v", url, want, p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers %d %s after 60 s, want %d", url, a.status, a.body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomToken(prefix string) string { return prefix + rand.Text() }
