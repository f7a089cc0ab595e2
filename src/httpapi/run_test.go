package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

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
