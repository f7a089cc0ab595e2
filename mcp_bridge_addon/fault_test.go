//go:build fault

package main

// The standing fault suite (issue #9): the real binary, its real children
// and the fake Home Assistant under a mixed load of reads and writes, one
// fault at a time. Run it with
//
//	go test -race -count=1 -tags fault -run '^TestFault' -v ./mcp_bridge_addon
//
// Each scenario starts a bridge, loads it, injects its fault for
// faultWindow, ends it, waits for recovery, stops the load and checks what
// the clients were told against what the fake Home Assistant executed, and
// the bridge's goroutines, descriptors, children and memory before and
// after. TestFault prints one table of every scenario at the end.

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// The suite's settings and bounds.
const (
	faultWorkers     = 24                     // load goroutines, each its own client address
	faultThink       = 20 * time.Millisecond  // mean pause between a worker's calls
	faultWarm        = time.Second            // load before the fault
	faultWindow      = 3 * time.Second        // how long a fault lasts
	faultCallTimeout = 5                      // seconds: every tool's time limit (queue wait included)
	maxRecovery      = 5 * time.Second        // from the fault's end to an ok read and an ok write per domain
	recoveryWait     = 8 * time.Second        // how long to wait for recovery before giving up
	poolMin, poolMax = 2, 4                   // children in the handshake era
	statelessMax     = 2                      // and in the 2026-07-28 protocol, for the stateless MCP load
	breakerRecovery  = 2                      // seconds: circuit_breaker.recovery_timeout_seconds
	settleTimeout    = 15 * time.Second       // for resources to come back after the load
	maxGoroutineGain = 40                     // goroutines after - before
	maxFDGain        = 20                     // open descriptors after - before
	maxRSSGainMiB    = 64                     // resident memory after - before
	maxUnanswered    = 0                      // requests sent and never answered
	killEvery        = 500 * time.Millisecond // children killed at random: one per this
)

// scenario is one fault.
type scenario struct {
	name  string
	fault string // what is injected, for the report
	// wrap runs the children through the misbehaving child (fault_child_test.go).
	wrap bool
	// inject starts the fault and returns the function that ends it.
	inject func(f *faultEnv) (end func())
	// check makes the scenario's own assertions once the run is over.
	check func(t *testing.T, f *faultEnv, r *faultRow)
	// stops: the fault stops the bridge (SIGTERM); there is no recovery.
	stops bool
	// queueMax and rateLimit, if set, are queue.max_size and
	// rate_limiting.requests_per_second (the rate limit is off otherwise).
	queueMax, rateLimit int
	// workers and think, if set, replace faultWorkers and faultThink.
	workers int
	think   time.Duration
	// knownDefect, if set, names a defect being fixed on another branch:
	// the scenario's failures are reported and it is skipped.
	knownDefect string
}

// faultEnv is a running scenario.
type faultEnv struct {
	t     *testing.T
	ha    *simhome.Server
	b     *bridgeProc
	ctrl  string // control directory of the misbehaving children
	tally *faultTally
	start time.Time // the fault began
	end   time.Time // the fault ended
	rng   *rand.Rand
	notes []string
	mu    sync.Mutex // guards notes, rng

	kidsAtStart, kidsAtEnd []int         // children when the fault began and ended, if the scenario looks
	exitAfter              time.Duration // from SIGTERM to exit; -1 if it did not exit
	stormRate              float64       // events per second the storm reached
}

func (f *faultEnv) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// every runs fn every d in a goroutine until the returned end is called,
// which waits for it.
func (f *faultEnv) every(d time.Duration, fn func()) (end func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			fn()
			sleepCtx(ctx, d)
		}
	})
	return func() { cancel(); wg.Wait() }
}

// faultYAML is the configuration every scenario's bridge runs with: a call
// time limit the suite can wait out, a breaker that retries after
// breakerRecovery (its default, 30 s, would make any fault that opens it
// miss maxRecovery), and quiet logs.
func faultYAML(f *faultEnv, sc scenario) string {
	queueMax := sc.queueMax
	if queueMax == 0 {
		queueMax = 1000
	}
	var y strings.Builder
	fmt.Fprintf(&y, `logging:
  level: warning
queue:
  max_size: %[5]d
  timeout_seconds: %[1]d
  tool_timeouts_seconds: {call_service: %[1]d, get_entities: %[1]d, get_entity_state: %[1]d}
circuit_breaker:
  recovery_timeout_seconds: %[4]d
session_pool:
  min_connections: %[2]d
  max_connections: %[3]d
  target_connections: %[3]d
  stateless_connections: %[6]d
`, faultCallTimeout, poolMin, poolMax, breakerRecovery, queueMax, statelessMax)
	if sc.wrap {
		exe, err := os.Executable()
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(&y, "  command: [%q, \"-test.run=^$\"]\n  env: {%s: %q, %s: %q, %s: warning}\n",
			exe, envFaultCtrl, f.ctrl, envFaultReal, binary(f.t), envLogLevel)
	}
	if sc.rateLimit > 0 {
		fmt.Fprintf(&y, "rate_limiting:\n  enabled: true\n  requests_per_second: %d\n", sc.rateLimit)
	} else {
		y.WriteString("rate_limiting:\n  enabled: false\n")
	}
	return y.String()
}

// runScenario runs one fault from start to report.
func runScenario(t *testing.T, sc scenario) {
	f := &faultEnv{t: t, ctrl: t.TempDir(), tally: &faultTally{}, rng: rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))}
	f.ha = simhome.NewServer(t, simhome.Options{Token: randomToken("ha-")})
	cfg := filepath.Join(t.TempDir(), "bridge.yaml")
	writeFile(t, cfg, faultYAML(f, sc))
	f.b = startBridge(t, map[string]string{envHassURL: f.ha.URL(), envHassToken: f.ha.Token(), envConfig: cfg})
	f.b.waitSessions(t)
	warmUp(t, f)
	before := sampleResources(t, f.b)
	recovery, recovered := loadWithFault(f, sc)

	r := &faultRow{name: sc.name, fault: sc.fault, before: before, recovery: recovery, recovered: recovered || sc.stops}
	r.count(f)
	if sc.stops {
		r.after = resources{exited: true, kids: len(aliveOf(children(t, f.b.cmd.Process.Pid)))}
	} else {
		r.after = settle(t, f.b, before)
		stopAll(f, r)
	}
	if sc.check != nil {
		sc.check(t, f, r)
	}
	r.notes = strings.Join(f.notes, "; ")
	r.assert(t, sc)
	if os.Getenv("MCP_BRIDGE_FAULT_LOGS") != "" {
		t.Logf("bridge log:\n%s", f.b.stderr.String())
	}
	report(t, sc, r)
}

// loadWithFault runs the load, the fault in its midst, and the load again
// until recovery; it returns the recovery time and whether it recovered.
func loadWithFault(f *faultEnv, sc scenario) (time.Duration, bool) {
	loadCtx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		runLoad(loadCtx, f.b, sc.name, cmp.Or(sc.workers, faultWorkers), cmp.Or(sc.think, faultThink), f.tally)
	}()
	defer func() { stopLoad(); <-loadDone }()
	time.Sleep(faultWarm)
	f.start = time.Now()
	end := sc.inject(f)
	time.Sleep(faultWindow)
	end()
	f.end = time.Now()
	return waitRecovery(f, sc)
}

// stopAll sends SIGTERM and checks that the bridge exits with 0 and that
// its children, and theirs, are gone.
func stopAll(f *faultEnv, r *faultRow) {
	kids := children(f.t, f.b.cmd.Process.Pid)
	var grandkids []int // the real children behind the misbehaving ones
	for _, k := range kids {
		grandkids = append(grandkids, children(f.t, k)...)
	}
	f.b.stopAndCheckChildren(f.t, kids)
	for _, pid := range grandkids {
		for deadline := time.Now().Add(5 * time.Second); processAlive(pid); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				r.fail("process %d, child of a child, still runs after the bridge exited", pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

// report adds the row to the report and fails the test with its problems,
// or skips it for a known defect.
func report(t *testing.T, sc scenario, r *faultRow) {
	r.status = "PASS"
	defer addRow(r)
	if len(r.problems) == 0 {
		return
	}
	if sc.knownDefect != "" {
		r.status = "SKIP"
		t.Skipf("known defect (%s):\n%s", sc.knownDefect, strings.Join(r.problems, "\n"))
	}
	r.status = "FAIL"
	for _, p := range r.problems {
		t.Error(p)
	}
}

// warmUp makes a few calls of each kind until they succeed, so that the
// children are up and the "before" resources are those of a working
// bridge.
func warmUp(t *testing.T, f *faultEnv) {
	t.Helper()
	tl := &faultTally{}
	c := newLoadClient(f.b, "warm", nil, tl)
	defer c.close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var wg sync.WaitGroup
		for i := range 16 {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			wg.Go(func() { c.one(context.Background(), rng, false, i%anyRole) })
		}
		wg.Wait()
		if _, ok := tl.recoveredAt(time.Time{}); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge does not serve reads and writes after 30 s: %v", kindCounts(tl.snapshot(), nil))
		}
	}
}

// waitRecovery keeps the load running until it has recovered from the
// fault (or recoveryWait passed), then one more second.
func waitRecovery(f *faultEnv, sc scenario) (time.Duration, bool) {
	deadline := f.end.Add(recoveryWait)
	for {
		if sc.stops {
			time.Sleep(2 * time.Second) // calls now meet a closed port
			return 0, true
		}
		if at, ok := f.tally.recoveredAt(f.end); ok {
			time.Sleep(time.Second)
			return at.Sub(f.end), true
		}
		if time.Now().After(deadline) {
			return recoveryWait, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// aliveOf returns the pids that still run.
func aliveOf(pids []int) []int {
	var out []int
	for _, p := range pids {
		if processAlive(p) {
			out = append(out, p)
		}
	}
	return out
}

// randomChild returns one of the bridge's children, or 0 if it has none.
func (f *faultEnv) randomChild() int {
	kids := aliveOf(children(f.t, f.b.cmd.Process.Pid))
	if len(kids) == 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return kids[f.rng.IntN(len(kids))]
}

// TestFault runs every scenario, one after another (they measure the
// bridge's resources), and prints the report.
func TestFault(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("the fault suite reads /proc")
	}
	start := time.Now()
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
	printReport(os.Stdout, time.Since(start))
}

// markOneChild keeps one live child in the given mode: when the marked one
// dies (the pool killed it), another is marked.
func markOneChild(f *faultEnv, mode string) (end func()) {
	marked := 0
	stop := f.every(200*time.Millisecond, func() {
		if marked != 0 && processAlive(marked) {
			return
		}
		if marked = f.randomChild(); marked != 0 {
			writeFile(f.t, filepath.Join(f.ctrl, fmt.Sprint(marked)), mode)
			f.note("%s child %d", mode, marked)
		}
	})
	return func() {
		stop()
		entries, _ := os.ReadDir(f.ctrl)
		for _, e := range entries {
			os.Remove(filepath.Join(f.ctrl, e.Name()))
		}
	}
}

// killChildren SIGKILLs a random child every killEvery.
func killChildren(f *faultEnv) (end func()) {
	n := 0
	stop := f.every(killEvery, func() {
		if pid := f.randomChild(); pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	})
	return func() { stop(); f.note("%d children killed", n) }
}
