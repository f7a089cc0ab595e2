package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// target is one server under load, by one transport.
type target struct {
	name string
	// open starts worker w's session (for MCP transports, an MCP session of
	// its own), which then makes the calls one after the other.
	open func(ctx context.Context, client *http.Client, w int) (session, error)
}

// session is one worker's connection to a target. It is not safe for
// concurrent use.
type session interface {
	// call makes the worker's i-th call and checks its answer.
	call(ctx context.Context, i int) error
	close()
}

// result sums one level's run against one target.
type result struct {
	requests  int
	wrong     int // failed or wrong answers
	firstErr  error
	elapsed   time.Duration
	cpu       time.Duration   // CPU used by this process (load client included) and its descendants
	childCPU  time.Duration   // the descendants' share of cpu (MCP children, mcp-proxy)
	latencies []time.Duration // sorted
}

// cpuPerRequest is the CPU cost of one request, client side included.
func (r result) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// merge adds another run's counts to r's.
func (r result) merge(o result) result {
	r.requests += o.requests
	r.wrong += o.wrong
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.childCPU += o.childCPU
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
	return r
}

// childCPUPerRequest is the descendants' share of cpuPerRequest.
func (r result) childCPUPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.childCPU / time.Duration(r.requests)
}

func (r result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// percentile returns the p-th percentile latency (0 < p < 1).
func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(int(float64(len(r.latencies))*p), len(r.latencies)-1)]
}

// newClient returns an HTTP client for c workers: every worker keeps its
// connections (an SSE session holds two: its stream and its POSTs).
func newClient(c int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: 4 * c, MaxIdleConnsPerHost: 2 * c, IdleConnTimeout: time.Minute,
		DisableCompression: true, ForceAttemptHTTP2: false,
	}}
}

// drive opens c sessions on t, runs them for d, each sending calls one
// after the other, and returns what they saw. Opening a session is not
// timed; a session that cannot be opened counts as one failed call.
func drive(ctx context.Context, t target, c int, d time.Duration) result {
	client := newClient(c)
	defer client.CloseIdleConnections()
	sessions := make([]session, c)
	parts := make([]result, c)
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			octx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := t.open(octx, client, w)
			if err != nil {
				parts[w] = result{requests: 1, wrong: 1, firstErr: fmt.Errorf("%s worker %d: opening a session: %w", t.name, w, err)}
				return
			}
			sessions[w] = s
		})
	}
	wg.Wait()
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.close()
			}
		}
	}()
	// Every worker makes at least one call, however busy the machine: a
	// level that ended before any call finished would measure nothing. A
	// call that hangs is bounded by its own minute past the level's end.
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	self0, kids0 := cpuTimes()
	start := time.Now()
	end := start.Add(d)
	for w, s := range sessions {
		if s != nil {
			wg.Go(func() { parts[w] = work(ctx, s, t.name, w, end) })
		}
	}
	wg.Wait()
	self1, kids1 := cpuTimes()
	total := result{elapsed: time.Since(start), cpu: self1 - self0 + kids1 - kids0, childCPU: kids1 - kids0}
	for _, p := range parts {
		total.requests += p.requests
		total.wrong += p.wrong
		total.latencies = append(total.latencies, p.latencies...)
		if total.firstErr == nil {
			total.firstErr = p.firstErr
		}
	}
	slices.Sort(total.latencies)
	return total
}

// work is one worker's loop: one call, then more until end.
func work(ctx context.Context, s session, name string, w int, end time.Time) result {
	var r result
	r.latencies = make([]time.Duration, 0, 1024)
	for i := 0; ctx.Err() == nil && (i == 0 || time.Now().Before(end)); i++ {
		start := time.Now()
		err := s.call(ctx, i)
		lat := time.Since(start)
		if err != nil && ctx.Err() != nil {
			break // the run was cancelled mid-call
		}
		r.requests++
		r.latencies = append(r.latencies, lat)
		if err != nil {
			r.wrong++
			if r.firstErr == nil {
				r.firstErr = fmt.Errorf("%s worker %d call %d: %w", name, w, i, err)
			}
		}
	}
	return r
}

// postTarget is a target answering each POST on its own, as the REST API,
// the bare server and the floor do.
func postTarget(name, url, token string, body func(b []byte, w, i int) []byte, check func(w, i int, body []byte) error) target {
	return target{name: name, open: func(_ context.Context, client *http.Client, w int) (session, error) {
		return &postSession{client: client, url: url, token: token, w: w, body: body, check: check}, nil
	}}
}

// postSession is one worker of a postTarget.
type postSession struct {
	client *http.Client
	url    string
	token  string
	w      int
	body   func(b []byte, w, i int) []byte
	check  func(w, i int, body []byte) error
	buf    []byte
	resp   bytes.Buffer
}

func (s *postSession) close() {}

func (s *postSession) call(ctx context.Context, i int) error {
	s.buf = s.body(s.buf[:0], s.w, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.buf))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	s.resp.Reset()
	if _, err := s.resp.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, s.resp.Bytes())
	}
	return s.check(s.w, i, s.resp.Bytes())
}

// checkEcho verifies that a bridge answer carries worker w's i-th arguments.
// The usual answer is recognised without decoding it (the fast child echoes
// the arguments byte for byte and the bridge passes them through), so that
// the client's own cost, shared with the servers on this machine, stays
// close to the bare check's; anything else is decoded.
func checkEcho(w, i int, data []byte) error {
	want := fmt.Appendf(make([]byte, 0, 64), `"structuredContent":{"w":%d,"i":%d}`, w, i)
	if bytes.HasPrefix(data, []byte(`{"jsonrpc":"2.0",`)) && bytes.Contains(data, want) &&
		!bytes.Contains(data, []byte(`"isError":true`)) && json.Valid(data) {
		return nil
	}
	var ans struct {
		Result struct {
			StructuredContent struct {
				W *int `json:"w"`
				I *int `json:"i"`
			} `json:"structuredContent"`
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return fmt.Errorf("decoding %.200q: %w", data, err)
	}
	sc := ans.Result.StructuredContent
	if ans.Result.IsError || sc.W == nil || sc.I == nil || *sc.W != w || *sc.I != i {
		return fmt.Errorf("wrong answer for w=%d i=%d: %.200s", w, i, data)
	}
	return nil
}
