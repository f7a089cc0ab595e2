package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeChecker is a HealthChecker whose answer the test sets.
type fakeChecker struct {
	mu    sync.Mutex
	err   error
	rtt   time.Duration
	calls atomic.Int64
	gate  chan struct{} // if non-nil, Ping waits for it to be closed
}

func (f *fakeChecker) set(rtt time.Duration, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rtt, f.err = rtt, err
}

func (f *fakeChecker) Ping(ctx context.Context) (time.Duration, error) {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rtt, f.err
}

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Health == nil {
		cfg.Health = &fakeChecker{}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(h http.Handler, method, target, remote string, header map[string]string) response {
	req := httptest.NewRequest(method, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		rtt        time.Duration
		err        error
		wantStatus int
		want       Health
	}{
		{
			name: "healthy", rtt: 42 * time.Millisecond, wantStatus: http.StatusOK,
			want: Health{Status: "healthy", Dependencies: map[string]DependencyHealth{
				"home_assistant": {Status: "ok", ResponseTimeMS: 42},
			}},
		},
		{
			name: "home assistant down", err: errors.New("hass: home assistant unavailable"),
			wantStatus: http.StatusServiceUnavailable,
			want: Health{Status: "unhealthy", Dependencies: map[string]DependencyHealth{
				"home_assistant": {Status: "unavailable", Error: "hass: home assistant unavailable"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checker := &fakeChecker{}
			checker.set(tt.rtt, tt.err)
			s := newTestServer(t, Config{Health: checker, APIToken: "secret-token-1234567890"})
			fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			s.health.now = func() time.Time { return fixed }

			r := do(s.Handler(), "GET", "/health", "", nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			var got Health
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			tt.want.Timestamp = fixed
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("health (-want +got):\n%s", diff)
			}
			if !strings.Contains(r.body, `"timestamp":"2026-01-02T03:04:05Z"`) {
				t.Errorf("timestamp not RFC 3339 in %s", r.body)
			}
		})
	}
}

// TestHealthRecovers checks that health follows the checker without restart.
func TestHealthRecovers(t *testing.T) {
	checker := &fakeChecker{}
	s := newTestServer(t, Config{Health: checker})
	for i, err := range []error{nil, errors.New("down"), nil} {
		checker.set(time.Millisecond, err)
		want := http.StatusOK
		if err != nil {
			want = http.StatusServiceUnavailable
		}
		if got := do(s.Handler(), "GET", "/health", "", nil).status; got != want {
			t.Errorf("step %d: status = %d, want %d", i, got, want)
		}
	}
}

// TestHealthTimeout checks that a checker that never answers yields 503
// once HealthTimeout passes instead of hanging the request.
func TestHealthTimeout(t *testing.T) {
	checker := &fakeChecker{gate: make(chan struct{})}
	defer close(checker.gate)
	s := newTestServer(t, Config{Health: checker, HealthTimeout: 50 * time.Millisecond})
	r := do(s.Handler(), "GET", "/health", "", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "deadline exceeded") {
		t.Errorf("got %d %s, want 503 with deadline exceeded", r.status, r.body)
	}
}

// TestHealthCoalesced checks that concurrent health requests share one ping.
func TestHealthCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checker := &fakeChecker{gate: make(chan struct{})}
		s := newTestServer(t, Config{Health: checker})
		const n = 8
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if r := do(s.Handler(), "GET", "/health", "", nil); r.status != http.StatusOK {
					t.Errorf("status = %d, want 200; body %s", r.status, r.body)
				}
			})
		}
		synctest.Wait() // every request is now waiting on the one ping
		if got := checker.calls.Load(); got != 1 {
			t.Errorf("pings in flight = %d for %d concurrent requests, want 1", got, n)
		}
		close(checker.gate)
		wg.Wait()
	})
}

// refusingChecker is a healthy Home Assistant behind a bridge whose
// breaker refuses calls while refused is set.
type refusingChecker struct {
	fakeChecker
	refused error
}

func (r *refusingChecker) CallsRefused() error { return r.refused }

// Issue #9: /health said healthy while the breaker was open and every call
// got 503.
func TestHealthUnhealthyWhileCallsRefused(t *testing.T) {
	checker := &refusingChecker{refused: errors.New("bridge: circuit breaker open; retry in 30s")}
	s := newTestServer(t, Config{Health: checker})
	r := do(s.Handler(), "GET", "/health", "", nil)
	var got Health
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusServiceUnavailable || got.Dependencies["circuit_breaker"].Status != "unavailable" ||
		!strings.Contains(got.Dependencies["circuit_breaker"].Error, "circuit breaker open") {
		t.Errorf("with the breaker open: %d %s; want 503 naming the breaker", r.status, r.body)
	}
	checker.refused = nil
	if r := do(s.Handler(), "GET", "/health", "", nil); r.status != http.StatusOK || !strings.Contains(r.body, `"circuit_breaker":{"status":"ok"`) {
		t.Errorf("with the breaker closed: %d %s; want 200", r.status, r.body)
	}
}
