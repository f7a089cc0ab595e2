package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// Memory targets of the whole add-on (serve and its children, proportional
// set size) with default settings, issue #11.
const (
	memTargetDemo  = 50 << 20
	memTargetLarge = 150 << 20
)

// memHome is one home the memory report measures.
type memHome struct {
	name   string
	home   *simhome.Home
	target int64
	// reads are entities get_entity_state calls read, in turn.
	reads []string
}

// memResult is what one home measured.
type memResult struct {
	home          memHome
	entities      int
	ready         time.Duration // from start until every child took its handshake
	children      int
	idle, loaded  procMem // after start; after the load, settled
	peak          int64   // the highest total sampled during the load
	firstCalls    []time.Duration
	calls, failed int
}

// procMem is the proportional set size of serve and of each child.
type procMem struct {
	bridge   int64
	children []int64
}

func (m procMem) total() int64 {
	t := m.bridge
	for _, c := range m.children {
		t += c
	}
	return t
}

// runMemory measures, for the demo home and a home of entities entities,
// the memory of the real add-on binary started as `serve` with default
// settings (or those of the YAML file config): idle once every child is up, then loaded after a burst of
// reads on every child, and the latency of the first calls.
func runMemory(ctx context.Context, entities int, config string, w io.Writer) (bool, error) {
	dir, err := os.MkdirTemp("", "mcp-bridge-memory-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "mcp_bridge_addon")
	if err := buildAddon(bin); err != nil {
		return false, err
	}
	homes := []memHome{
		{name: "demo", home: simhome.DemoHome(), target: memTargetDemo, reads: demoEntities},
		{name: "large", home: simhome.LargeHome(entities), target: memTargetLarge, reads: largeReads(entities)},
	}
	var results []memResult
	for _, h := range homes {
		r, err := measureHome(ctx, bin, dir, config, h)
		if err != nil {
			return false, fmt.Errorf("%s home: %w", h.name, err)
		}
		results = append(results, r)
	}
	return memReport(w, results), nil
}

// largeReads are entities of LargeHome(n) spread over the whole home.
func largeReads(n int) []string {
	var ids []string
	for i := 0; i < n; i += max(1, n/64) {
		ids = append(ids, fmt.Sprintf("switch.switch_%05d", i-i%5+1))
	}
	return ids
}

func measureHome(ctx context.Context, bin, dir, config string, h memHome) (memResult, error) {
	r := memResult{home: h, entities: len(h.home.Entities)}
	token := rand.Text()
	home := simhome.New(simhome.Options{Token: token, Home: h.home})
	if err := home.Start("127.0.0.1:0"); err != nil {
		return r, fmt.Errorf("starting the simulated home: %w", err)
	}
	defer home.Close()
	port, err := freeLoopbackPort()
	if err != nil {
		return r, err
	}
	api := randomToken()
	data := filepath.Join(dir, h.name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return r, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--host", "127.0.0.1")
	cmd.Env = append(os.Environ(), "HASS_URL="+home.RESTURL(), "HASS_TOKEN="+token, "MCP_BRIDGE_TOKEN="+api,
		"MCP_BRIDGE_PORT="+strconv.Itoa(port), "MCP_BRIDGE_INGRESS_PORT=0", "MCP_BRIDGE_CONFIG="+config,
		"MCP_BRIDGE_DATA="+data, "MCP_BRIDGE_LOG_LEVEL=warning", "GOGC=", "GOMEMLIMIT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{Timeout: 30 * time.Second}
	if r.children, err = waitAllReady(ctx, c, base, api); err != nil {
		return r, fmt.Errorf("%w; serve's log:\n%s", err, stderr.String())
	}
	r.ready = time.Since(start)
	settle(ctx, 3*time.Second)
	if r.idle, err = addonMemory(cmd.Process.Pid); err != nil {
		return r, err
	}
	if err := loadHome(ctx, c, base, api, h, cmd.Process.Pid, &r); err != nil {
		return r, fmt.Errorf("%w; serve's log:\n%s", err, stderr.String())
	}
	settle(ctx, 3*time.Second)
	r.loaded, err = addonMemory(cmd.Process.Pid)
	return r, err
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitAllReady polls /mcp/status until every child serve started is idle,
// and returns how many there are.
func waitAllReady(ctx context.Context, c *http.Client, base, token string) (int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var st struct {
			Sessions struct {
				Active, Total int
				ByStatus      map[string]int `json:"by_status"`
			}
		}
		if body, err := get(ctx, c, base+"/mcp/status", token); err == nil && json.Unmarshal(body, &st) == nil {
			last = string(body)
			if st.Sessions.Total > 0 && st.Sessions.ByStatus["idle"] == st.Sessions.Total {
				return st.Sessions.Total, nil
			}
		}
		time.Sleep(250 * time.Millisecond) // /mcp/status counts against the rate limit
	}
	return 0, fmt.Errorf("children not all ready after 2 minutes (last status %s)", last)
}

func get(ctx context.Context, c *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, body)
	}
	return body, err
}

// loadHome first makes one call per child at once (each child's first
// call, timed), then 64 reads at 8 concurrent calls with the cache
// bypassed, so that every child serves, sampling the memory meanwhile.
func loadHome(ctx context.Context, c *http.Client, base, token string, h memHome, pid int, r *memResult) error {
	call := func(i int) (time.Duration, error) {
		body := fmt.Sprintf(`{"name":"get_entity_state","arguments":{"entity_id":%q}}`, h.reads[i%len(h.reads)])
		if i%4 == 3 {
			body = `{"name":"get_entities","arguments":{"search":"7","limit":20}}`
		}
		return restCall(ctx, c, base, token, body)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stopSampling := make(chan struct{})
	for i := range r.children {
		wg.Go(func() {
			d, err := call(i)
			mu.Lock()
			defer mu.Unlock()
			r.firstCalls = append(r.firstCalls, d)
			if err != nil {
				r.failed++
			}
		})
	}
	wg.Wait()
	slices.Sort(r.firstCalls)
	// The default rate limit (10 a second, bursts of 100) bounds the load.
	const workers, calls = 8, 64
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if m, err := addonMemory(pid); err == nil {
				mu.Lock()
				r.peak = max(r.peak, m.total())
				mu.Unlock()
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < calls && ctx.Err() == nil; i += workers {
				_, err := call(i)
				mu.Lock()
				r.calls++
				if err != nil {
					r.failed++
					firstErr = cmp.Or(firstErr, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stopSampling)
	<-done
	if r.failed > 0 {
		return fmt.Errorf("%d of %d calls failed, first: %w", r.failed, r.calls+len(r.firstCalls), firstErr)
	}
	return nil
}

// restCall makes one tools/call through the REST API, bypassing the cache.
func restCall(ctx context.Context, c *http.Client, base, token, body string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/mcp/tools/call", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cache-Control", "no-cache")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"isError":true`)) {
		return d, fmt.Errorf("%s: %d %.300s", body, resp.StatusCode, raw)
	}
	return d, nil
}

// addonMemory reads the proportional set size of pid and of each of its
// children from /proc.
func addonMemory(pid int) (procMem, error) {
	var m procMem
	var err error
	if m.bridge, err = pss(pid); err != nil {
		return m, err
	}
	// Each thread lists the children it started.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil || len(tasks) == 0 {
		return m, fmt.Errorf("listing the threads of %d: %v", pid, err)
	}
	var kids []string
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		kids = append(kids, strings.Fields(string(b))...)
	}
	for _, f := range kids {
		kid, _ := strconv.Atoi(f)
		if p, err := pss(kid); err == nil {
			m.children = append(m.children, p)
		}
	}
	return m, nil
}

// pss returns the Pss line of /proc/pid/smaps_rollup, in bytes.
func pss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.Join(errors.New("no Pss in smaps_rollup"), sc.Err())
}

// memReport prints one row per home and the targets; it returns false when
// a target is missed.
func memReport(w io.Writer, results []memResult) bool {
	fmt.Fprintf(w, "\nMemory of the add-on (serve and its children, proportional set size), default settings\n\n")
	fmt.Fprintln(w, "| home | entities | children | ready after | idle: serve + children = total | loaded: serve + children = total | peak | first calls (min-max) | calls | failed |")
	fmt.Fprintln(w, "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	ok := true
	for _, r := range results {
		first := "-"
		if n := len(r.firstCalls); n > 0 {
			first = fmt.Sprintf("%s-%s", ms(r.firstCalls[0]), ms(r.firstCalls[n-1]))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.1f s | %s | %s | %s | %s | %d | %d |\n", r.home.name, r.entities, r.children,
			r.ready.Seconds(), r.idle, r.loaded, mib(r.peak), first, r.calls+len(r.firstCalls), r.failed)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		worst := max(r.idle.total(), r.loaded.total())
		verdict := "PASS"
		if worst > r.home.target || r.failed > 0 {
			verdict, ok = "MISS", false
		}
		fmt.Fprintf(w, "%s  %s home: idle memory (start and after load) <= %s: %s\n", verdict, r.home.name, mib(r.home.target), mib(worst))
	}
	return ok
}

func (m procMem) String() string {
	kids := make([]string, len(m.children))
	for i, c := range m.children {
		kids[i] = strconv.FormatFloat(float64(c)/(1<<20), 'f', 1, 64)
	}
	return fmt.Sprintf("%s + [%s] = %s", mib(m.bridge), strings.Join(kids, ", "), mib(m.total()))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
