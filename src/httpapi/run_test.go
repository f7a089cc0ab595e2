package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRunServesAndShutsDown runs both listeners on loopback, serves requests
// on each, then cancels the context and expects Run to return nil with the
// ports closed.
func TestRunServesAndShutsDown(t *testing.T) {
	s := newTestServer(t, Config{Addr: "127.0.0.1:0", IngressAddr: "127.0.0.1:0", IngressAllowLoopback: true})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	api := fmt.Sprintf("http://%s", s.Addr())
	ingress := fmt.Sprintf("http://%s", s.IngressAddr())
	if code, body := get(t, api+"/health"); code != http.StatusOK {
		t.Errorf("API /health = %d %s", code, body)
	}
	if code, _ := get(t, ingress+"/"); code != http.StatusOK {
		t.Errorf("Ingress / = %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	for _, addr := range []net.Addr{s.Addr(), s.IngressAddr()} {
		if c, err := net.Dial("tcp", addr.String()); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

// TestShutdownWaitsForRequests checks that a request in flight when the
// context is cancelled still gets its answer.
func TestShutdownWaitsForRequests(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s := newTestServer(t, Config{Routes: func(api *gin.RouterGroup) {
		api.GET("/slow", func(c *gin.Context) {
			close(entered)
			<-release
			c.String(http.StatusOK, "done")
		})
	}})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	type result struct {
		code int
		body string
	}
	answer := make(chan result, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/slow", s.Addr()))
		if err != nil {
			answer <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- result{resp.StatusCode, string(body)}
	}()
	<-entered
	cancel()
	close(release)
	if r := <-answer; r.code != http.StatusOK || r.body != "done" {
		t.Errorf("in-flight request got %d %q", r.code, r.body)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestListenPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := newTestServer(t, Config{Addr: ln.Addr().String()})
	err = s.Run(t.Context())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Run on a used port = %v, want a *net.OpError", err)
	}
}

// TestShutdownEndsStreams checks that a shutdown ends event streams (GET
// requests that would never end on their own) at once, while a call (POST)
// in flight is still let finish and answered.
func TestShutdownEndsStreams(t *testing.T) {
	streaming, calling, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	s := newTestServer(t, Config{ShutdownTimeout: time.Minute, Routes: func(api *gin.RouterGroup) {
		api.GET("/stream", func(c *gin.Context) {
			c.Status(http.StatusOK)
			c.Writer.Flush()
			close(streaming)
			<-c.Request.Context().Done()
		})
		api.POST("/call", func(c *gin.Context) {
			close(calling)
			<-release
			c.String(http.StatusOK, "done")
		})
	}})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	resp, err := http.Get(fmt.Sprintf("http://%s/stream", s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-streaming
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Post(fmt.Sprintf("http://%s/call", s.Addr()), "text/plain", nil)
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	<-calling
	cancel()
	ended := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(ended) }()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream still runs 30 s after the shutdown started")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the call in flight was answered", err)
	default:
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Errorf("call in flight at shutdown got %q, want done", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestShutdownClosesSilentConnections: a connection that never sends a
// request (HTTP clients keep spare ones) does not hold up the stop.
// http.Server.Shutdown alone waits 5 s for it, past this ShutdownTimeout.
func TestShutdownClosesSilentConnections(t *testing.T) {
	s := newTestServer(t, Config{ShutdownTimeout: 4 * time.Second})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	silent, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A request on another connection: the silent one is accepted too.
	if code, _ := get(t, fmt.Sprintf("http://%s/health", s.Addr())); code != http.StatusOK {
		t.Fatalf("GET /health: %d", code)
	}
	for {
		s.fresh.mu.Lock()
		n := len(s.fresh.conns)
		s.fresh.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want a clean stop with a silent connection open", err)
	}
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the silent connection is still open after the stop (read %d bytes)", n)
	}
}
