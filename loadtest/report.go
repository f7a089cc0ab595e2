package main

import (
	"fmt"
	"io"
	"time"
)

// Names of the peer's rows.
const (
	peerStreamable = "mcp-proxy-Streamable"
	peerSSE        = "mcp-proxy-SSE"
)

// ours are the bridge's transports; peers are mcp-proxy's.
var (
	ours  = []string{"REST", "Streamable", "SSE"}
	peers = []string{peerStreamable, peerSSE}
)

// named is one server's result at one level.
type named struct {
	name string
	res  result
}

// row is one concurrency level.
type row struct {
	c       int
	results []named
}

// get returns the named result, if that server was driven.
func (r row) get(name string) (result, bool) {
	for _, n := range r.results {
		if n.name == name {
			return n.res, true
		}
	}
	return result{}, false
}

// Targets from the project's performance goals.
const (
	targetRESTRatio       = 0.4 // REST and Streamable req/s at the highest level >= 0.4 x bare
	targetSSERatio        = 0.5 // SSE req/s at the highest level >= 0.5 x bare
	targetPeerRatio       = 5.0 // the bridge's req/s at the highest level >= 5 x mcp-proxy's best
	targetFloorRatio      = 2.0 // c=1 p50 <= 2 x the floor's
	targetFloorRatioTools = 4.0 // ... with our own tools (-child ours)
)

// report prints the table and the verdicts. It returns false when an
// answer was wrong, or when strict and a target was missed.
func report(w io.Writer, rows []row, kind string, strict bool) bool {
	fmt.Fprintln(w, "| c | server | req/s | p50 | p99 | CPU/req | of which children | wrong | req/s vs bare | p50 vs floor |")
	fmt.Fprintln(w, "|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|")
	var floor result
	for _, r := range rows {
		if f, ok := r.get("floor"); ok {
			floor = f
		}
	}
	totalWrong, served := 0, true
	for _, r := range rows {
		bare, _ := r.get("bare")
		for _, n := range r.results {
			totalWrong += n.res.wrong
			if n.res.requests == 0 {
				served = false
			}
			vsFloor := ""
			if r.c == 1 && floor.requests > 0 {
				vsFloor = fmt.Sprintf("%.2f", float64(n.res.percentile(.5))/float64(floor.percentile(.5)))
			}
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s | %s | %d | %s | %s |\n", r.c, n.name, n.res.rps(),
				ms(n.res.percentile(.5)), ms(n.res.percentile(.99)), us(n.res.cpuPerRequest()), us(n.res.childCPUPerRequest()), n.res.wrong,
				ratio(n.res.rps(), bare.rps()), vsFloor)
		}
		for _, n := range r.results {
			if n.res.firstErr != nil {
				fmt.Fprintf(w, "  c=%d first failure: %v\n", r.c, n.res.firstErr)
			}
		}
	}
	vs := verdicts(rows, kind, floor)
	fmt.Fprintln(w)
	printMuxContext(w, rows)
	met := true
	for _, v := range vs {
		fmt.Fprintln(w, v)
		met = met && !v.miss()
	}
	fmt.Fprintf(w, "\nwrong or failed answers: %d; targets met: %v\n", totalWrong, met)
	return totalWrong == 0 && served && (met || !strict)
}

// printMuxContext says, at the highest level, where the multiplexing floor
// stands against the bare server and mcp-proxy, and the bridge against
// it: the share of the bare server's req/s that a relay of bytes over one
// pipe reaches bounds what any bridge to a stdio child can reach.
func printMuxContext(w io.Writer, rows []row) {
	if len(rows) == 0 {
		return
	}
	top := rows[len(rows)-1]
	mux, ok := top.get(muxFloor)
	bare, hasBare := top.get("bare")
	if !ok || !hasBare || mux.rps() == 0 || bare.rps() == 0 {
		return
	}
	fmt.Fprintf(w, "c=%d %s (a relay of bytes over one pipe): %.2fx bare", top.c, muxFloor, mux.rps()/bare.rps())
	if p := bestPeer(top); p > 0 {
		fmt.Fprintf(w, ", %.2fx mcp-proxy's best", mux.rps()/p)
	}
	fmt.Fprint(w, "; against it:")
	for _, name := range []string{"REST", "Streamable", "SSE"} {
		if r, ok := top.get(name); ok {
			fmt.Fprintf(w, " %s %.2f", name, r.rps()/mux.rps())
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
}

// verdict is one target's outcome.
type verdict struct {
	what      string
	got, want float64
	atLeast   bool // got >= want passes; else got <= want
	na        bool // a server it needs was not driven
}

func (v verdict) miss() bool {
	return !v.na && ((v.atLeast && v.got < v.want) || (!v.atLeast && v.got > v.want))
}

func (v verdict) String() string {
	if v.na {
		return "n/a   " + v.what
	}
	mark, op := "PASS", ">="
	if v.miss() {
		mark = "MISS"
	}
	if !v.atLeast {
		op = "<="
	}
	return fmt.Sprintf("%s  %s: %.2f (target %s %.1f)", mark, v.what, v.got, op, v.want)
}

// verdicts checks the targets: at the highest level the bridge's req/s
// against the bare server's and mcp-proxy's, at every level against the
// best peer transport, and at c=1 its p50 against the floor's.
func verdicts(rows []row, kind string, floor result) []verdict {
	if len(rows) == 0 {
		return nil
	}
	var vs []verdict
	top := rows[len(rows)-1]
	bare, hasBare := top.get("bare")
	for _, name := range ours {
		res, ok := top.get(name)
		want := targetRESTRatio
		if name == "SSE" {
			want = targetSSERatio
		}
		vs = append(vs, verdict{what: fmt.Sprintf("c=%d %s req/s vs bare", top.c, name),
			got: res.rps() / bare.rps(), want: want, atLeast: true, na: !ok || !hasBare})
	}
	for _, name := range ours {
		res, ok := top.get(name)
		best := bestPeer(top)
		vs = append(vs, verdict{what: fmt.Sprintf("c=%d %s req/s vs mcp-proxy's best", top.c, name),
			got: res.rps() / best, want: targetPeerRatio, atLeast: true, na: !ok || best == 0})
	}
	for _, r := range rows {
		best := bestPeer(r)
		for _, name := range ours {
			res, ok := r.get(name)
			vs = append(vs, verdict{what: fmt.Sprintf("c=%d %s req/s vs mcp-proxy's best", r.c, name),
				got: res.rps() / best, want: 1, atLeast: true, na: !ok || best == 0})
		}
	}
	hit, ok := top.get(cacheHit)
	vs = append(vs, verdict{what: fmt.Sprintf("c=%d %s req/s vs bare", top.c, cacheHit),
		got: hit.rps() / bare.rps(), want: targetCacheHitRatio, atLeast: true, na: !ok || !hasBare})
	want := targetFloorRatio
	if kind == childOurs {
		want = targetFloorRatioTools
	}
	if rows[0].c == 1 {
		for _, name := range ours {
			res, ok := rows[0].get(name)
			vs = append(vs, verdict{what: fmt.Sprintf("c=1 %s p50 vs the floor's", name),
				got: float64(res.percentile(.5)) / float64(floor.percentile(.5)), want: want, na: !ok || floor.requests == 0})
		}
	}
	return vs
}

// bestPeer is the higher req/s of mcp-proxy's transports at r's level, or
// 0 if neither ran.
func bestPeer(r row) float64 {
	best := 0.0
	for _, name := range peers {
		if res, ok := r.get(name); ok {
			best = max(best, res.rps())
		}
	}
	return best
}

func ratio(a, b float64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
