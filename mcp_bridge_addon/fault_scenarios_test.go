//go:build fault

package main

// The fault suite's scenarios: each injects one fault and checks what is
// particular to it; runScenario checks what all share.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func faultScenarios() []scenario {
	return []scenario{
		{name: "baseline", fault: "none: the load alone", inject: func(*faultEnv) func() { return func() {} }},
		{name: "kill_children", fault: "SIGKILL a random child every 500 ms", inject: killChildren},
		{name: "child_hang", fault: "one child at a time stops reading and answering (another when the pool replaces it)",
			wrap: true, inject: func(f *faultEnv) func() { return markOneChild(f, "hang") }},
		{name: "child_garbage", fault: "one child at a time writes garbage (binary, truncated JSON, unknown ids, log lines, 256 KiB lines) to stdout",
			wrap: true, inject: func(f *faultEnv) func() { return markOneChild(f, "garbage") }},
		{name: "child_exit_at_start", fault: "every child started exits at once; a child is killed every 500 ms to make the pool start more",
			wrap: true, inject: exitAtStart},
		{name: "ha_ws_drop", fault: "Home Assistant drops every WebSocket every 250 ms", inject: func(f *faultEnv) func() {
			return f.every(250*time.Millisecond, f.ha.DropConnections)
		}},
		{name: "ha_refuse", fault: "Home Assistant stops listening (connections refused), then restarts", inject: refuseConnections},
		{name: "ha_slow", fault: "Home Assistant answers every message 300 ms late", inject: func(f *faultEnv) func() {
			f.ha.SetLatency(300 * time.Millisecond)
			return func() { f.ha.SetLatency(0) }
		}},
		{name: "ha_fail_domain", fault: "every " + faultDomain + ".create call fails (home_assistant_error)",
			inject: func(f *faultEnv) func() {
				f.ha.FailService(faultDomain, "create", "the notification service is down")
				return f.ha.ClearFailures
			}, check: checkHealthyDomain},
		{name: "ha_hang_domain", fault: "every " + faultDomain + ".create call hangs until the fault ends",
			inject: func(f *faultEnv) func() {
				f.ha.HangService(faultDomain, "create")
				return f.ha.ReleaseServices
			}, check: checkHealthyDomain},
		{name: "event_storm", fault: "6 000 state_changed events at 2 000 per second (load: 12 clients)", inject: eventStorm,
			workers: 12, think: 50 * time.Millisecond},
		{name: "client_disconnect", fault: "8 more clients leave each call 1-40 ms after sending it", inject: disconnectingClients},
		{name: "body_stall", fault: "64 clients send headers and part of a body, then stall", inject: stallBodies},
		{name: "deep_nesting", fault: "4 clients send arguments nested 1 000 to 100 000 deep", inject: deepNesting, check: checkNoChildKilled},
		{name: "queue_overflow", fault: "queue_max_size 32, Home Assistant 50 ms slow and 150 more clients", queueMax: 32,
			inject: overflowQueue, check: checkQueueOverflowed},
		{name: "rate_limit", fault: "rate limit 100/s per address; 50 clients on one address exceed it", rateLimit: 100,
			inject: exceedRateLimit, check: checkRateLimited},
		{name: "sigterm_load", fault: "SIGTERM under load", stops: true, inject: sigterm, check: checkExited},
		{name: "sigterm_hung_writes", fault: "SIGTERM while " + faultDomain + ".create calls hang in Home Assistant", stops: true,
			inject: sigtermHung, check: checkExited},
	}
}

// exitAtStart makes every new child exit at start and kills children so
// that the pool must start new ones.
func exitAtStart(f *faultEnv) (end func()) {
	writeFile(f.t, f.ctrl+"/start", "exit")
	stop := killChildren(f)
	return func() {
		stop()
		writeFile(f.t, f.ctrl+"/start", "")
	}
}

func refuseConnections(f *faultEnv) (end func()) {
	f.ha.Stop()
	return func() {
		if err := f.ha.Restart(); err != nil {
			f.t.Errorf("restarting the fake Home Assistant: %v", err)
		}
	}
}

// maxHealthyLatency bounds a call that a fault elsewhere should not slow.
const maxHealthyLatency = 2 * time.Second

// checkHealthyDomain checks the bulkhead around a failing domain: writes to
// another domain and reads made during the fault succeeded, and quickly.
func checkHealthyDomain(t *testing.T, f *faultEnv, r *faultRow) {
	outs := map[string][]outcome{}
	for _, o := range f.tally.snapshot() {
		op := strings.TrimSuffix(o.op, "/mcp")
		// Every call that overlapped the fault, those already waiting
		// when it began included.
		if !o.fromFault && !o.retry && o.start.Before(f.end) && o.end.After(f.start) && op != faultDomain {
			outs[op] = append(outs[op], o)
		}
	}
	for _, op := range []string{healthyDomain, "read"} {
		ok, slowest := 0, time.Duration(0)
		for _, o := range outs[op] {
			if o.kind == "ok" && o.end.Sub(o.start) <= maxHealthyLatency {
				ok++
			}
			slowest = max(slowest, o.end.Sub(o.start))
		}
		n := len(outs[op])
		f.note("calls overlapping the fault: %s ok within %v %d/%d (slowest %v)", op, maxHealthyLatency, ok, n, slowest.Round(time.Millisecond))
		if n == 0 || ok*10 < n*9 {
			r.fail("of the %[2]d %[3]s calls made during the fault, only %[1]d succeeded within %[4]v (want 90%%): %[5]s", ok, n, op,
				maxHealthyLatency, kindCounts(outs[op], nil))
		}
	}
}

// Storm settings: stormEvents at stormRate, 50 every 25 ms.
const (
	stormRate   = 2000
	stormEvents = stormRate * int(faultWindow/time.Second)
	stormBatch  = 50
)

// eventStorm fires stormEvents state changes, paced at stormRate. Ending
// it waits until all are fired (on a starved machine the rate falls short:
// the note says so).
func eventStorm(f *faultEnv) (end func()) {
	var sensors []string
	for _, id := range f.ha.EntityIDs() {
		if strings.HasPrefix(id, "sensor.") || strings.HasPrefix(id, "binary_sensor.") {
			sensors = append(sensors, id)
		}
	}
	n, start := 0, time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(stormBatch * time.Second / stormRate)
		defer tick.Stop()
		for n < stormEvents {
			<-tick.C
			// Catch up when a burst took longer than a tick.
			for due := min(int(time.Since(start)*stormRate/time.Second), stormEvents); n < due; {
				updates := make([]simhome.StateUpdate, min(stormBatch, due-n))
				for i := range updates {
					updates[i] = simhome.StateUpdate{EntityID: sensors[(n+i)%len(sensors)], State: fmt.Sprint(n + i)}
				}
				f.ha.FireStates(updates...)
				n += len(updates)
			}
		}
	})
	return func() {
		wg.Wait()
		took := time.Since(start)
		f.stormRate = float64(n) / took.Seconds()
		starved := ""
		if f.stormRate < stormRate*0.9 {
			starved = ", below the target: the machine is short of CPU"
		}
		f.note("%d state_changed in %v (%.0f/s%s)", n, took.Round(time.Millisecond), f.stormRate, starved)
	}
}

// injectors runs n goroutines calling fn until end; each gets its own
// client from address local (nil: 127.0.0.1).
func injectors(f *faultEnv, n int, local net.IP, fn func(ctx context.Context, c *loadClient, rng *rand.Rand)) (end func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		c := newLoadClient(f.b, fmt.Sprintf("%s-fault%d", f.t.Name(), i), local, f.tally)
		rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		wg.Go(func() {
			defer c.close()
			for ctx.Err() == nil {
				fn(ctx, c, rng)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

func disconnectingClients(f *faultEnv) (end func()) {
	return injectors(f, 8, nil, func(ctx context.Context, c *loadClient, rng *rand.Rand) {
		cctx, cancel := context.WithTimeout(ctx, time.Millisecond+rand.N(40*time.Millisecond))
		defer cancel()
		c.one(cctx, rng, true, anyRole)
	})
}

// stallBodies opens connections that announce a body and send a part of
// it; when the fault ends it counts those the bridge still holds open,
// then closes them.
func stallBodies(f *faultEnv) (end func()) {
	addr := strings.TrimPrefix(f.b.base, "http://")
	var conns []net.Conn
	for range 64 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			f.note("dial: %v", err)
			continue
		}
		fmt.Fprintf(c, "POST /mcp/tools/call HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": \"get_entities\", ", addr, f.b.token)
		conns = append(conns, c)
	}
	return func() {
		open := 0
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					open++
				}
			}
			c.Close()
		}
		f.note("%d of %d stalled connections still open at the end (the body read timeout is 30 s)", open, len(conns))
	}
}

// deepNesting sends calls whose arguments nest deeply, in arrays and
// objects, and remembers the children alive at the start.
func deepNesting(f *faultEnv) (end func()) {
	f.kidsAtStart = aliveOf(children(f.t, f.b.cmd.Process.Pid))
	depths := []int{1000, 10000, 100000}
	stop := injectors(f, 4, nil, func(ctx context.Context, c *loadClient, rng *rand.Rand) {
		d := depths[rng.IntN(len(depths))]
		var inner string
		if rng.IntN(2) == 0 {
			inner = strings.Repeat("[", d) + strings.Repeat("]", d)
		} else {
			inner = strings.Repeat(`{"a":`, d) + "1" + strings.Repeat("}", d)
		}
		tool := []string{"get_entities", "get_entity_state", "call_service"}[rng.IntN(3)]
		body := fmt.Sprintf(`{"name": %q, "arguments": {"domain": %s}}`, tool, inner)
		o := outcome{op: "nest", start: time.Now(), fromFault: true}
		o.kind, o.detail = c.post(ctx, []byte(body), "", "")
		o.end = time.Now()
		if o.kind == "client_gone" {
			return
		}
		c.tally.add(o)
		sleepCtx(ctx, 20*time.Millisecond)
	})
	return func() {
		stop()
		f.kidsAtEnd = aliveOf(children(f.t, f.b.cmd.Process.Pid))
	}
}

// checkNoChildKilled checks that the deep calls were refused as the
// client's fault, and that they killed no child.
func checkNoChildKilled(t *testing.T, f *faultEnv, r *faultRow) {
	for _, pid := range f.kidsAtStart {
		if !slices.Contains(f.kidsAtEnd, pid) {
			r.fail("child %d, alive when the deep calls began, was gone when they ended", pid)
		}
	}
	for k, n := range r.injected {
		if k != "invalid_params" && k != "parse_error" && k != "too_large" {
			r.fail("%d deep calls answered %s, want a 4xx", n, k)
		}
	}
	for _, k := range []string{"breaker_open", "unavailable", "outcome_unknown", "timeout"} {
		if r.kinds[k] > 0 {
			r.fail("the load met %d %s while deep calls were refused", r.kinds[k], k)
		}
	}
}

// overflowQueue slows Home Assistant and adds 150 clients.
func overflowQueue(f *faultEnv) (end func()) {
	f.ha.SetLatency(50 * time.Millisecond)
	stop := injectors(f, 150, nil, func(ctx context.Context, c *loadClient, rng *rand.Rand) {
		c.one(context.WithoutCancel(ctx), rng, true, anyRole)
		sleepCtx(ctx, 10*time.Millisecond)
	})
	return func() { stop(); f.ha.SetLatency(0) }
}

func checkQueueOverflowed(t *testing.T, f *faultEnv, r *faultRow) {
	if r.kinds["queue_full"]+r.injected["queue_full"] == 0 {
		r.fail("no call met a full queue: the fault did not happen (%v %v)", r.kinds, r.injected)
	}
	// A full queue is the clients' doing: the children are fine, so the
	// breaker must not refuse calls (for 30 s with the default settings).
	if n := r.kinds["breaker_open"] + r.injected["breaker_open"]; n > 0 {
		r.fail("%d calls were refused by the circuit breaker: overload opened it although no child failed", n)
	}
}

// exceedRateLimit sends calls from one address as fast as it is answered.
func exceedRateLimit(f *faultEnv) (end func()) {
	return injectors(f, 50, net.IPv4(127, 0, 0, 2), func(ctx context.Context, c *loadClient, rng *rand.Rand) {
		c.one(context.WithoutCancel(ctx), rng, true, anyRole)
		sleepCtx(ctx, time.Millisecond)
	})
}

func checkRateLimited(t *testing.T, f *faultEnv, r *faultRow) {
	if r.injected["rate_limited"] == 0 {
		r.fail("the clients over the rate limit were never limited: %v", r.injected)
	}
	if n := r.kinds["rate_limited"]; n > 0 {
		r.fail("%d calls of the load (each address under the limit) were rate limited", n)
	}
}

// sigterm sends SIGTERM; the fault ends when the bridge has exited.
func sigterm(f *faultEnv) (end func()) {
	f.kidsAtStart = aliveOf(children(f.t, f.b.cmd.Process.Pid))
	if err := f.b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		f.t.Fatal(err)
	}
	start := time.Now()
	return func() { f.waitExit(start) }
}

// sigtermHung hangs the fault domain's calls for a second of load, then
// sends SIGTERM; the calls are released once the bridge has exited (or
// given up on).
func sigtermHung(f *faultEnv) (end func()) {
	f.ha.HangService(faultDomain, "create")
	time.Sleep(time.Second)
	stop := sigterm(f)
	return func() { stop(); f.ha.ReleaseServices() }
}

// maxExit bounds the time from SIGTERM to exit: the Supervisor's stop
// timeout, after which it kills the add-on.
const maxExit = 10 * time.Second

func (f *faultEnv) waitExit(start time.Time) {
	select {
	case <-f.b.done:
		f.exitAfter = time.Since(start)
		f.note("exited %v after SIGTERM", f.exitAfter.Round(time.Millisecond))
	case <-time.After(maxExit + 10*time.Second):
		f.exitAfter = -1
		f.note("still running %v after SIGTERM", time.Since(start).Round(time.Second))
	}
}

// checkExited checks that the bridge exited in time, with 0, and left no
// child behind.
func checkExited(t *testing.T, f *faultEnv, r *faultRow) {
	if f.exitAfter < 0 || f.exitAfter > maxExit {
		r.fail("the bridge took %v to exit after SIGTERM (bound %v)", f.exitAfter, maxExit)
		return
	}
	if code := f.b.exitCode(t); code != exitOK {
		r.fail("exit code after SIGTERM %d, want 0", code)
	}
	for _, pid := range f.kidsAtStart {
		if processAlive(pid) {
			r.fail("child %d still runs after the bridge exited", pid)
		}
	}
}
