// Command loadtest measures the bridge's HTTP paths against a bare net/http
// server, the floor of any stdio relay and the best-known peer, on this
// machine and in one run, and checks every answer.
//
// It starts, in this process and on 127.0.0.1 only:
//   - the bridge's HTTP server (authentication, the /mcp REST routes,
//     Streamable HTTP at /mcp, HTTP+SSE at /sse, bridge, queue, pool) in front
//     of stdio MCP children of the kind -child names;
//   - a bare net/http server answering a fixed body;
//   - the floor: a bare net/http server relaying each body over pipes to an
//     echo child, the least any bridge to a stdio server must pay;
//   - the child's floor: a bare net/http server relaying each call, one at a
//     time, straight to its own copy of the same MCP child;
//   - the peer: mcp-proxy (npm, installed with npm ci --prefix loadtest/npm)
//     serving the same child over Streamable HTTP and SSE.
//
// For each concurrency level it drives each server for a fixed duration
// (the floors at concurrency 1 only): REST calls, or MCP sessions of its
// own per worker (initialize, then tools/call after tools/call), checks
// that every answer carries its own call's arguments, and prints requests
// per second, p50 and p99 latency, CPU per request and the ratios against
// the targets.
//
//	go run ./loadtest -child everything -duration 6s -rounds 3
//
// With -memory it instead starts the real add-on binary (serve, with default
// settings) against the simulated demo home and a home of 10 000 entities,
// and reports the proportional set size of serve and its children once they
// are up and again after a burst of reads, against the add-on's targets.
//
// It exits 1 if any answer was wrong or failed, and (with -strict) if a
// performance target is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// options are the command-line settings.
type options struct {
	duration    time.Duration // per level and server
	rounds      int           // duration is split into this many interleaved rounds
	levels      []int
	children    int
	inflight    int
	childGOGC   int
	child       string // fast, sdk, everything or ours
	npmDir      string // holds node_modules with mcp-proxy and server-everything
	peerArgs    []string
	skipPeer    bool
	strict      bool
	skipBare    bool
	only        string // drive only this server (for profiling)
	cpuProfile  string
	memory      bool   // measure the add-on's memory instead of its speed
	memEntities int    // entities of the large home -memory measures
	memConfig   string // the bridge's YAML configuration file for -memory (default: none, the defaults)
}

func main() {
	echoMain()      // serve as the floor's echo child and exit
	pooltest.Main() // serve MCP and exit when re-executed as a child
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	run := run
	if o.memory {
		run = func(ctx context.Context, o options, w io.Writer) (bool, error) {
			return runMemory(ctx, o.memEntities, o.memConfig, w)
		}
	}
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	o := options{}
	levels := fs.String("levels", "1,8,64", "comma-separated concurrency levels")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "how long each level runs, per server")
	fs.IntVar(&o.rounds, "rounds", 1, "split each level's duration into this many rounds over all servers in turn")
	fs.IntVar(&o.children, "children", 1, "stdio MCP children in the pool (one child batches best on 2 cores)")
	fs.IntVar(&o.inflight, "inflight", 32, "calls one child serves at once (pipelined)")
	fs.StringVar(&o.child, "child", childFast, "the stdio MCP child behind the bridge and mcp-proxy: fast (hand-written echo), sdk (go-sdk echo), everything (npm server-everything), ours (mcp_bridge_addon stdio on the simulated demo home)")
	fs.StringVar(&o.npmDir, "npm-dir", "", "directory whose node_modules hold mcp-proxy and server-everything (default loadtest/npm)")
	peerArgs := fs.String("peer-args", "--no-eventStore", "extra mcp-proxy flags, space-separated")
	fs.BoolVar(&o.skipPeer, "skip-peer", false, "do not start mcp-proxy")
	fs.IntVar(&o.childGOGC, "child-gogc", 0, "GOGC for Go MCP children (0: inherit)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a performance target is missed")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write this process's CPU profile to the file")
	fs.BoolVar(&o.skipBare, "skip-bare", false, "drive only the bridge and its peer, not the bare server and the floor")
	fs.StringVar(&o.only, "only", "", "drive only this server: REST, REST-cache-hit, Streamable, SSE, mcp-proxy-Streamable, mcp-proxy-SSE, bare, floor, floor-mux or child-floor (for profiling)")
	fs.BoolVar(&o.memory, "memory", false, "measure instead the memory of the add-on (serve and its children, with default settings) on the demo home and a large home, idle and loaded")
	fs.StringVar(&o.memConfig, "memory-config", "", "with -memory, start serve with this configuration file instead of the defaults")
	fs.IntVar(&o.memEntities, "memory-entities", 10000, "entities of the large home -memory measures")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for f := range strings.SplitSeq(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return o, fmt.Errorf("bad concurrency level %q", f)
		}
		o.levels = append(o.levels, n)
	}
	o.peerArgs = strings.Fields(*peerArgs)
	if o.duration <= 0 || o.duration > time.Hour || o.children < 1 || o.inflight < 1 || o.rounds < 1 || o.memEntities < 1 {
		return o, fmt.Errorf("-duration must be in (0, 1h], -children, -inflight, -rounds and -memory-entities at least 1")
	}
	switch o.child {
	case childFast, childSDK, childEverything, childOurs:
	default:
		return o, fmt.Errorf("-child must be fast, sdk, everything or ours")
	}
	if o.npmDir == "" {
		o.npmDir = defaultNPMDir()
	}
	return o, nil
}

// defaultNPMDir is loadtest/npm from the module root, or npm from the
// loadtest directory (go test).
func defaultNPMDir() string {
	if _, err := os.Stat("npm/package.json"); err == nil {
		return "npm"
	}
	return filepath.Join("loadtest", "npm")
}

// run starts the servers, drives every level and prints the report. It
// returns false when an answer was wrong (or, with strict, a target
// missed).
func run(ctx context.Context, o options, w io.Writer) (bool, error) {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return false, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return false, err
		}
		defer pprof.StopCPUProfile()
	}
	ch, err := newChild(o)
	if err != nil {
		return false, err
	}
	defer ch.cleanup()
	st, err := startStack(ctx, o, ch)
	if err != nil {
		return false, err
	}
	defer st.close()
	var pr *peer
	peerNote := "not run (-skip-peer)"
	if !o.skipPeer {
		if pr, err = startPeer(o.npmDir, ch, o.peerArgs); err != nil {
			return false, err
		}
		defer pr.stop()
		peerNote = "mcp-proxy " + strings.Join(o.peerArgs, " ") + ", one shared child"
	}
	printHeader(w, o, peerNote)
	var rows []row
	for _, c := range o.levels {
		ts := levelTargets(o, st, pr, ch, c)
		r := row{c: c, results: make([]named, len(ts))}
		for round := range o.rounds { // interleaved, so that a burst of other work on the machine hits every server alike
			for i, t := range ts {
				res := drive(ctx, t, c, o.duration/time.Duration(o.rounds))
				if round == 0 {
					r.results[i] = named{t.name, res}
				} else {
					r.results[i].res = r.results[i].res.merge(res)
				}
				if ctx.Err() != nil {
					break
				}
			}
		}
		rows = append(rows, r)
		if ctx.Err() != nil {
			break
		}
	}
	return report(w, rows, ch.kind, o.strict), ctx.Err()
}

// levelTargets are the servers driven at concurrency c, in order: the bare
// server, the floor and the child's floor (at c=1), the bridge's REST API, a cache hit through
// it, Streamable HTTP and SSE, and mcp-proxy's Streamable HTTP and SSE.
func levelTargets(o options, st *stack, pr *peer, ch *child, c int) []target {
	var ts []target
	if !o.skipBare {
		ts = append(ts, st.bareTarget())
		if c == 1 {
			ts = append(ts, st.relayTarget(), st.childFloorTarget(ch.calls))
		} else {
			ts = append(ts, st.muxTarget())
		}
	}
	ts = append(ts, st.restTarget(ch.calls), st.cacheHitTarget(ch.calls), st.streamableTarget(ch.calls), st.sseTarget(ch.calls))
	if pr != nil {
		ts = append(ts, streamableTarget(peerStreamable, mcpEndpoint{url: pr.url + "/mcp"}, ch.calls),
			sseTarget(peerSSE, mcpEndpoint{url: pr.url + "/sse"}, ch.calls))
	}
	if o.only != "" {
		ts = slices.DeleteFunc(ts, func(t target) bool { return t.name != o.only })
	}
	return ts
}

// printHeader says what is measured, where and when.
func printHeader(w io.Writer, o options, peerNote string) {
	load, _ := os.ReadFile("/proc/loadavg")
	host, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), Linux %s, %s %s/%s, %s UTC, load average %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), strings.TrimSpace(string(host)), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		time.Now().UTC().Format("2006-01-02 15:04"), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintf(w, "child: %s; bridge: %d children x %d in flight, child GOGC %s; peer: %s; %v per level and server in %d rounds\n\n",
		o.child, o.children, o.inflight, gogcName(o.childGOGC), peerNote, o.duration, o.rounds)
}
func gogcName(n int) string {
	if n == 0 {
		return "inherited"
	}
	return strconv.Itoa(n)
}
