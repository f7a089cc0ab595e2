// Command loadtest measures the bridge's HTTP path against a bare net/http
// server on this machine and checks every answer.
//
// It starts, in this process and on 127.0.0.1 only, the bridge's HTTP server
// (authentication, /mcp routes, bridge, queue, pool) in front of stdio MCP
// children (this binary re-executed as a pooltest child), a bare net/http
// server answering a fixed body, and the floor: a bare net/http server
// relaying each body over pipes to an echo child (this binary again), the
// least any bridge to a stdio server must pay. For each concurrency level it
// drives POST /mcp/tools/call on each for a fixed duration (the floor at
// concurrency 1 only), verifies every answer (each call's unique arguments
// must come back), and prints requests per second, p50 and p99 latency and
// the ratios.
//
//	go run ./loadtest -duration 10s
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
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

// options are the command-line settings.
type options struct {
	duration   time.Duration // per level and server
	levels     []int
	children   int
	inflight   int
	childGOGC  int
	sdkChild   bool
	strict     bool
	skipBare   bool
	cpuProfile string
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
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long each level runs, per server")
	fs.IntVar(&o.children, "children", 1, "stdio MCP children in the pool (one child batches best on 2 cores)")
	fs.IntVar(&o.inflight, "inflight", 32, "calls one child serves at once (pipelined)")
	fs.BoolVar(&o.sdkChild, "sdk-child", false, "serve with go-sdk's mcp.Server child instead of the fast hand-written one")
	fs.IntVar(&o.childGOGC, "child-gogc", 0, "GOGC for the MCP children (0: inherit)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a performance target is missed")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write this process's CPU profile to the file")
	fs.BoolVar(&o.skipBare, "skip-bare", false, "drive only the bridge, not the bare server and the floor (for profiling)")
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
	if o.duration <= 0 || o.duration > time.Hour || o.children < 1 || o.inflight < 1 {
		return o, fmt.Errorf("-duration must be in (0, 1h], -children and -inflight at least 1")
	}
	return o, nil
}

// run starts both servers, drives every level and prints the report. It
// returns false when an answer was wrong (or, with strict, a target missed).
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
	st, err := startStack(ctx, o)
	if err != nil {
		return false, err
	}
	defer st.close()
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s %s/%s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "bridge: %d %s stdio children x %d in flight, child GOGC %s; %v per level and server\n\n",
		o.children, childKind(o.sdkChild), o.inflight, gogcName(o.childGOGC), o.duration)
	var rows []row
	for _, c := range o.levels {
		r := row{c: c}
		if !o.skipBare {
			r.bare = drive(ctx, st.bareTarget(), c, o.duration)
		}
		if !o.skipBare && c == 1 {
			r.floor = drive(ctx, st.relayTarget(), c, o.duration)
		}
		r.bridge = drive(ctx, st.bridgeTarget(), c, o.duration)
		rows = append(rows, r)
		if ctx.Err() != nil {
			break
		}
	}
	return report(w, rows, o.strict), ctx.Err()
}

func childKind(sdk bool) string {
	if sdk {
		return "go-sdk"
	}
	return "fast"
}

func gogcName(n int) string {
	if n == 0 {
		return "inherited"
	}
	return strconv.Itoa(n)
}
