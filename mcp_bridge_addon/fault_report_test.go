//go:build fault

package main

// The fault suite's accounting: what the clients were told against what
// the fake Home Assistant executed, the bridge's resources, and the report.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// resources is the bridge process's footprint.
type resources struct {
	goroutines int     // go_goroutines from /metrics
	fds        int     // entries of /proc/PID/fd
	threads    int     // Threads of /proc/PID/status
	kids       int     // child processes
	rssMiB     float64 // VmRSS
	exited     bool    // the process was gone (after SIGTERM)
}

func (r resources) String() string {
	if r.exited {
		return fmt.Sprintf("exited, %d children left", r.kids)
	}
	return fmt.Sprintf("g%d fd%d th%d c%d %.0fMiB", r.goroutines, r.fds, r.threads, r.kids, r.rssMiB)
}

var goroutinesRE = regexp.MustCompile(`(?m)^go_goroutines (\d+)`)

func sampleResources(t *testing.T, b *bridgeProc) resources {
	t.Helper()
	pid := b.cmd.Process.Pid
	var r resources
	m := request(t, b.base+"/metrics", b.token)
	if g := goroutinesRE.FindStringSubmatch(m.body); g != nil {
		r.goroutines, _ = strconv.Atoi(g[1])
	} else {
		t.Errorf("/metrics (%d) has no go_goroutines", m.status)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("reading the bridge's descriptors: %v", err)
	}
	// The /metrics request above may still hold a descriptor: it is
	// counted alike before and after.
	r.fds = len(fds)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(line, ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.Atoi(fields[0])
		switch k {
		case "Threads":
			r.threads = n
		case "VmRSS":
			r.rssMiB = float64(n) / 1024
		}
	}
	r.kids = len(aliveOf(children(t, pid)))
	return r
}

// settle samples the resources until they are back within bounds of
// before, or settleTimeout passed, and returns the last sample.
func settle(t *testing.T, b *bridgeProc, before resources) resources {
	deadline := time.Now().Add(settleTimeout)
	for {
		r := sampleResources(t, b)
		if withinBounds(before, r) == nil || time.Now().After(deadline) {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// withinBounds lists how after exceeds the bounds over before.
func withinBounds(before, after resources) []string {
	var bad []string
	if after.goroutines-before.goroutines > maxGoroutineGain {
		bad = append(bad, fmt.Sprintf("goroutines %d -> %d (bound +%d)", before.goroutines, after.goroutines, maxGoroutineGain))
	}
	if after.fds-before.fds > maxFDGain {
		bad = append(bad, fmt.Sprintf("descriptors %d -> %d (bound +%d)", before.fds, after.fds, maxFDGain))
	}
	if after.kids < poolMin || after.kids > poolMax+statelessMax {
		bad = append(bad, fmt.Sprintf("children %d -> %d (bound %d..%d)", before.kids, after.kids, poolMin, poolMax+statelessMax))
	}
	if after.rssMiB-before.rssMiB > maxRSSGainMiB {
		bad = append(bad, fmt.Sprintf("resident memory %.0f -> %.0f MiB (bound +%d MiB)", before.rssMiB, after.rssMiB, maxRSSGainMiB))
	}
	return bad
}

// faultRow is one scenario's line of the report.
type faultRow struct {
	name, fault string
	requests    int            // HTTP requests of the load (retries included)
	answers     int            // of which answered by the bridge
	kinds       map[string]int // answers and failures by kind
	injected    map[string]int // the fault injectors' own requests, by kind
	unanswered  int            // sent and never answered (load and injectors)
	writes      int            // distinct writes (markers) of the load
	mcp, mcpOK  int            // requests of the load over MCP over HTTP (/mcp), and those ok
	double      int            // writes Home Assistant executed more than once
	phantom     int            // writes reported done that Home Assistant never executed
	hidden      int            // writes reported not applied that Home Assistant executed
	errExecuted int            // writes reported failed (a tool error) that Home Assistant executed
	recovery    time.Duration
	recovered   bool
	before      resources
	after       resources
	notes       string
	problems    []string // failed assertions
	status      string   // PASS, FAIL, or SKIP (a known defect)
}

// fail records a failed assertion; runScenario reports them.
func (r *faultRow) fail(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// notApplied are the kinds that tell the client its write did not happen.
var notApplied = map[string]bool{"queue_full": true, "breaker_open": true, "rate_limited": true,
	"shutting_down": true, "timeout_not_applied": true, "invalid_params": true, "parse_error": true, "refused": true,
	"closed_idle": true}

// count fills the row from the load's outcomes and Home Assistant's log.
func (r *faultRow) count(f *faultEnv) {
	outs := f.tally.snapshot()
	executed := map[string]int{}
	for _, c := range f.ha.ServiceCalls() {
		if m, ok := c.Data["message"].(string); ok {
			executed[m]++
		}
	}
	r.kinds, r.injected = map[string]int{}, map[string]int{}
	told := map[string][]string{}  // marker -> kinds
	toolErr := map[string]string{} // marker -> a tool error's answer
	defer func() {
		f.notes = append([]string{fmt.Sprintf("/mcp ok %d/%d", r.mcpOK, r.mcp)}, f.notes...)
		if r.errExecuted > 0 {
			f.note("%d writes answered a tool error were executed", r.errExecuted)
			slices.Reverse(f.notes[len(f.notes)-2:]) // the count before its example
		}
	}()
	for _, o := range outs {
		if o.kind == "unanswered" {
			r.unanswered++
			if r.unanswered <= 3 {
				f.note("unanswered %s %s after %v: %s", o.op, o.marker, o.end.Sub(o.start).Round(time.Millisecond), o.detail)
			}
		}
		if unexpected(o.kind) && r.kinds[o.kind]+r.injected[o.kind] == 0 {
			f.note("first %s answer: %.200s", o.kind, o.detail)
		}
		if o.fromFault {
			r.injected[o.kind]++
		} else {
			if strings.HasSuffix(o.op, "/mcp") {
				r.mcp++
				if o.kind == "ok" {
					r.mcpOK++
				}
			}
			r.requests++
			r.kinds[o.kind]++
			if !transportKinds[o.kind] {
				r.answers++
			}
		}
		if o.marker != "" {
			told[o.marker] = append(told[o.marker], o.kind)
			if o.kind == "tool_error" {
				toolErr[o.marker] = o.detail
			}
		}
	}
	for marker, kinds := range told {
		r.writes++
		if executed[marker] > 0 && slices.Contains(kinds, "tool_error") && !slices.Contains(kinds, "ok") {
			r.errExecuted++ // a failure the client may retry: reported in the notes
			if r.errExecuted == 1 {
				f.note("e.g. %s: %.80s", marker, toolText(toolErr[marker]))
			}
		}
		n := executed[marker]
		switch {
		case n > 1:
			r.double++
			r.fail("write %s executed %d times; the client was told %v", marker, n, kinds)
		case n == 0 && slices.Contains(kinds, "ok"):
			r.phantom++
			r.fail("write %s reported done (%v) but Home Assistant never executed it", marker, kinds)
		case n == 1 && !slices.ContainsFunc(kinds, func(k string) bool { return !notApplied[k] }):
			r.hidden++
			r.fail("write %s reported not applied (%v) but Home Assistant executed it", marker, kinds)
		}
	}
}

// unexpected reports whether an answer of kind fails every scenario.
func unexpected(kind string) bool {
	return kind == "wrong_answer" || kind == "internal" || kind == "client_bug" ||
		strings.HasPrefix(kind, "bad_answer") || strings.HasPrefix(kind, "error_")
}

// transportKinds are outcomes without an answer from the bridge.
var transportKinds = map[string]bool{"unanswered": true, "refused": true, "client_gone": true, "client_bug": true, "closed_idle": true}

// assert checks the invariants every scenario shares.
func (r *faultRow) assert(t *testing.T, sc scenario) {
	if r.kinds["ok"] == 0 {
		r.fail("no call succeeded: %v", r.kinds)
	}
	if r.unanswered > maxUnanswered {
		r.fail("%d requests were never answered (bound %d)", r.unanswered, maxUnanswered)
	}
	for _, m := range []map[string]int{r.kinds, r.injected} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if unexpected(k) {
				r.fail("%d answers of kind %s", m[k], k)
			}
		}
	}
	if n := r.kinds["closed_idle"]; n > 0 && !sc.stops {
		r.fail("the bridge closed %d kept-alive connections as requests went out on them", n)
	}
	if !sc.stops {
		switch {
		case !r.recovered:
			r.fail("no ok read and write in every domain within %v after the fault ended", recoveryWait)
		case r.recovery > maxRecovery:
			r.fail("recovery took %v, bound %v", r.recovery.Round(time.Millisecond), maxRecovery)
		}
		for _, bad := range withinBounds(r.before, r.after) {
			r.fail("after the fault: %s", bad)
		}
	} else if r.after.kids != 0 {
		r.fail("%d children still run after the bridge exited", r.after.kids)
	}
	t.Logf("%s: requests %d answers %d kinds %v injected %v unanswered %d writes %d double %d phantom %d hidden %d recovery %v before %v after %v %s",
		r.name, r.requests, r.answers, r.kinds, r.injected, r.unanswered, r.writes, r.double, r.phantom, r.hidden,
		r.recovery.Round(time.Millisecond), r.before, r.after, r.notes)
}

var (
	rowsMu sync.Mutex
	rows   []*faultRow
)

func addRow(r *faultRow) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	rows = append(rows, r)
}

// kindCounts formats counts by kind, "ok" first; skip is left out.
func kindCounts(outs []outcome, skip map[string]bool) string {
	m := map[string]int{}
	for _, o := range outs {
		m[o.kind]++
	}
	return formatKinds(m, skip)
}

func formatKinds(m map[string]int, skip map[string]bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !skip[k] {
			parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// printReport writes the table of every scenario run.
func printReport(w io.Writer, took time.Duration) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	fmt.Fprintf(w, "\nFAULT SUITE REPORT (%d scenarios, %v; bounds: unanswered %d, double 0, phantom 0, hidden 0, recovery <= %v, "+
		"goroutines +%d, fds +%d, children %d..%d, RSS +%d MiB)\n",
		len(rows), took.Round(time.Second), maxUnanswered, maxRecovery, maxGoroutineGain, maxFDGain, poolMin, poolMax+statelessMax, maxRSSGainMiB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tstatus\trequests\tanswers\tok\terrors by kind\tinjected\tunans\tdouble\tphantom\thidden\trecovery\tbefore\tafter\tnotes")
	for _, r := range rows {
		rec := r.recovery.Round(time.Millisecond).String()
		switch {
		case r.after.exited:
			rec = "n/a"
		case !r.recovered:
			rec = ">" + recoveryWait.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%v\t%v\t%s\n", r.name, r.status, r.requests, r.answers, r.kinds["ok"],
			formatKinds(r.kinds, map[string]bool{"ok": true}), formatKinds(r.injected, nil), r.unanswered, r.double, r.phantom,
			r.hidden, rec, r.before, r.after, r.notes)
	}
	tw.Flush()
	fmt.Fprintln(w, "(faults:")
	for _, r := range rows {
		fmt.Fprintf(w, "  %s: %s\n", r.name, r.fault)
	}
	fmt.Fprintln(w, ")")
}

// toolText returns the text of a tool error's answer.
func toolText(raw string) string {
	var a rpcAnswer
	if json.Unmarshal([]byte(raw), &a) != nil || a.Result == nil {
		return raw
	}
	var text strings.Builder
	for _, c := range a.Result.Content {
		text.WriteString(c.Text)
	}
	return text.String()
}
