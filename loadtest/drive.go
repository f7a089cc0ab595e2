package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// target is one server under load.
type target struct {
	name  string
	url   string
	token string
	// check verifies the answer to worker w's i-th call.
	check func(w, i int, body []byte) error
}

// result sums one level's run against one target.
type result struct {
	requests  int
	wrong     int // failed or wrong answers
	firstErr  error
	elapsed   time.Duration
	cpu       time.Duration   // CPU used by this process (load client included) and the MCP children
	childCPU  time.Duration   // the MCP children's share of cpu
	latencies []time.Duration // sorted
}

// cpuPerRequest is the CPU cost of one request, client side included.
func (r result) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// percentile returns the p-th percentile latency (0 < p < 1).
func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(int(float64(len(r.latencies))*p), len(r.latencies)-1)]
}

// drive runs c workers against t for d, each sending calls one after the
// other, and returns what they saw.
func drive(ctx context.Context, t target, c int, d time.Duration) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	parts := make([]result, c)
	self0, kids0 := cpuTimes()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() { parts[w] = work(ctx, client, t, w) })
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

// work is one worker's loop until ctx ends.
func work(ctx context.Context, client *http.Client, t target, w int) result {
	var r result
	var body bytes.Buffer
	for i := 0; ctx.Err() == nil; i++ {
		callBody(&body, w, i)
		start := time.Now()
		err := call(client, t, w, i, body.Bytes())
		lat := time.Since(start)
		if err != nil && ctx.Err() != nil {
			break // the level ended mid-call
		}
		r.requests++
		r.latencies = append(r.latencies, lat)
		if err != nil {
			r.wrong++
			if r.firstErr == nil {
				r.firstErr = fmt.Errorf("%s worker %d call %d: %w", t.name, w, i, err)
			}
		}
	}
	return r
}

func call(client *http.Client, t target, w, i int, payload []byte) error {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	return t.check(w, i, data)
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

// row is one concurrency level.
type row struct {
	c      int
	bare   result
	floor  result // the relay through an echo child; run at c=1 only
	bridge result
}

// Targets from the project's performance goals.
const (
	targetThroughputRatio = 0.4 // bridge req/s at the highest level >= 0.4 x bare
	targetLatencyRatio    = 2.0 // bridge p50 at concurrency 1 <= 2 x bare
)

// report prints the table and the verdicts. It returns false when an
// answer was wrong, or when strict and a target was missed.
func report(w io.Writer, rows []row, strict bool) bool {
	fmt.Fprintln(w, "| c | bare req/s | bare p50 | bare p99 | bare CPU/req | bridge req/s | bridge p50 | bridge p99 | bridge CPU/req | req/s ratio | p50 ratio | wrong |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	ok, targetsMet, totalWrong := true, true, 0
	for _, r := range rows {
		rpsRatio := r.bridge.rps() / r.bare.rps()
		p50Ratio := float64(r.bridge.percentile(.5)) / float64(r.bare.percentile(.5))
		wrong := r.bare.wrong + r.floor.wrong + r.bridge.wrong
		totalWrong += wrong
		fmt.Fprintf(w, "| %d | %.0f | %s | %s | %s | %.0f | %s | %s | %s | %.2f | %.2f | %d |\n", r.c,
			r.bare.rps(), ms(r.bare.percentile(.5)), ms(r.bare.percentile(.99)), us(r.bare.cpuPerRequest()),
			r.bridge.rps(), ms(r.bridge.percentile(.5)), ms(r.bridge.percentile(.99)), us(r.bridge.cpuPerRequest()),
			rpsRatio, p50Ratio, wrong)
		if r.bridge.requests > 0 {
			fmt.Fprintf(w, "  bridge CPU/req: %s in this process (client included), %s in the MCP children\n",
				us((r.bridge.cpu-r.bridge.childCPU)/time.Duration(r.bridge.requests)), us(r.bridge.childCPU/time.Duration(r.bridge.requests)))
		}
		if r.floor.requests > 0 {
			floorP50, bridgeP50 := r.floor.percentile(.5), r.bridge.percentile(.5)
			fmt.Fprintf(w, "  floor (bare server relaying each body over pipes to an echo child, one call at a time, polling for it): "+
				"%.0f req/s, p50 %s, p99 %s, CPU/req %s, %.2fx bare; bridge p50 %.2fx the floor, %s above it\n",
				r.floor.rps(), ms(floorP50), ms(r.floor.percentile(.99)), us(r.floor.cpuPerRequest()),
				float64(floorP50)/float64(r.bare.percentile(.5)),
				float64(bridgeP50)/float64(floorP50), us(bridgeP50-floorP50))
		}
		for _, err := range []error{r.bare.firstErr, r.floor.firstErr, r.bridge.firstErr} {
			if err != nil {
				fmt.Fprintln(w, "  first failure:", err)
			}
		}
		if wrong > 0 || r.bridge.requests == 0 {
			ok = false
		}
		if r.c == 1 && p50Ratio > targetLatencyRatio {
			targetsMet = false
			fmt.Fprintf(w, "  MISS: c=1 bridge p50 is %.2fx bare (target <= %.1fx)\n", p50Ratio, targetLatencyRatio)
		}
		if r.c == rows[len(rows)-1].c && r.c > 1 && rpsRatio < targetThroughputRatio {
			targetsMet = false
			fmt.Fprintf(w, "  MISS: c=%d bridge req/s is %.2fx bare (target >= %.1fx)\n", r.c, rpsRatio, targetThroughputRatio)
		}
	}
	fmt.Fprintf(w, "\nwrong or failed answers: %d; targets met: %v\n", totalWrong, targetsMet)
	return ok && (targetsMet || !strict)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
