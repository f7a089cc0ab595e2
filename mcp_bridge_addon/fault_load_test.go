//go:build fault

package main

// The fault suite's load: workers sending a mix of reads and writes, each
// with its own request_id, to POST /mcp/tools/call, and the tally of what
// came back.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Domains the load's writes call; each write carries a unique marker as its
// message, which the fake Home Assistant records (ServiceCalls).
const (
	faultDomain   = "persistent_notification" // the domain faults in one domain aim at
	healthyDomain = "notify"
)

var (
	readEntities = []string{"light.kitchen_counter", "light.office_desk", "sensor.kitchen_temperature",
		"sensor.power_consumption", "binary_sensor.front_door_contact", "switch.coffee_machine"}
	writeServices = []struct{ domain, service string }{{faultDomain, "create"}, {healthyDomain, "notify"}}
)

// outcome is one request as the client saw it.
type outcome struct {
	op        string // "read", or the write's domain
	marker    string // a write's marker (its request_id)
	kind      string // "ok" or an error kind (see classifyAnswer)
	start     time.Time
	end       time.Time
	retry     bool   // a repeat of an earlier write with the same request_id
	detail    string // the transport error, or a tool error's text
	fromFault bool   // sent by a fault injector, not by the load
}

// faultTally collects outcomes; safe for concurrent use.
type faultTally struct {
	mu   sync.Mutex
	outs []outcome
	seq  atomic.Int64
}

func (t *faultTally) add(o outcome) {
	t.mu.Lock()
	t.outs = append(t.outs, o)
	t.mu.Unlock()
}

func (t *faultTally) snapshot() []outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.outs)
}

// recoveredAt returns when, after end, the load had an ok read and an ok
// write in every write domain, each sent after end; ok is false until then.
func (t *faultTally) recoveredAt(end time.Time) (at time.Time, ok bool) {
	first := map[string]time.Time{}
	for _, o := range t.snapshot() {
		if o.kind != "ok" || o.fromFault || o.start.Before(end) {
			continue
		}
		op := strings.TrimSuffix(o.op, "/mcp")
		if f, seen := first[op]; !seen || o.end.Before(f) {
			first[op] = o.end
		}
	}
	if len(first) < 1+len(writeServices) {
		return time.Time{}, false
	}
	for _, f := range first {
		if f.After(at) {
			at = f
		}
	}
	return at, true
}

// loadClient sends tool calls to one bridge.
type loadClient struct {
	b      *bridgeProc
	http   *http.Client
	prefix string // request_id prefix, unique per scenario
	tally  *faultTally
	// mcp sends the calls as stateless MCP over HTTP (POST /mcp,
	// 2026-07-28) instead of the REST API; they carry no request_id,
	// which MCP has not, so a failed write is not repeated.
	mcp bool
}

// newLoadClient returns a client whose connections come from local, if
// set (a loopback address: the rate limit counts per address).
func newLoadClient(b *bridgeProc, prefix string, local net.IP, tl *faultTally) *loadClient {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	return &loadClient{b: b, http: &http.Client{Transport: tr, Timeout: 20 * time.Second}, prefix: prefix, tally: tl}
}

func (c *loadClient) close() { c.http.CloseIdleConnections() }

// answerTimeout is how long a client waits for an answer before counting
// it unanswered: well past the suite's call time limit (faultCallTimeout).
const answerTimeout = 20 * time.Second

// Roles of a load worker: its calls are reads, writes to faultDomain or
// writes to healthyDomain, so that a fault in one of them cannot hold every
// worker; anyRole mixes all three (the injectors).
const (
	roleRead = iota
	roleFaultWrite
	roleHealthyWrite
	anyRole
)

// one sends one call of role; a write that fails in a way that leaves its
// outcome open is sent once more with the same request_id, as a careful
// client would. ctx cancelled early is a client leaving mid-request.
func (c *loadClient) one(ctx context.Context, rng *rand.Rand, fromFault bool, role int) {
	id := fmt.Sprintf("%s-%d", c.prefix, c.tally.seq.Add(1))
	if role == anyRole {
		role = rng.IntN(anyRole)
	}
	if role == roleRead {
		ent := readEntities[rng.IntN(len(readEntities))]
		args := map[string]any{"entity_id": ent}
		tool := "get_entity_state"
		if rng.IntN(3) == 0 {
			tool, args, ent = "get_entities", map[string]any{"domain": "light"}, "light.kitchen_counter"
		}
		c.send(ctx, outcome{op: "read", fromFault: fromFault}, tool, args, id, ent)
		return
	}
	ws := writeServices[role-roleFaultWrite]
	args := map[string]any{"domain": ws.domain, "service": ws.service, "data": map[string]any{"message": id}}
	o := c.send(ctx, outcome{op: ws.domain, marker: id, fromFault: fromFault}, "call_service", args, id, ws.domain+"."+ws.service)
	if retriable(o.kind) && ctx.Err() == nil && !c.mcp {
		time.Sleep(50 * time.Millisecond)
		c.send(ctx, outcome{op: ws.domain, marker: id, retry: true, fromFault: fromFault}, "call_service", args, id, ws.domain+"."+ws.service)
	}
}

// retriable reports whether a write's error leaves it worth repeating with
// the same request_id.
func retriable(kind string) bool {
	switch kind {
	case "outcome_unknown", "timeout", "unavailable", "unanswered", "closed_idle":
		return true
	}
	return false
}

// send posts one call and records its outcome; want must appear in a
// successful answer's text.
func (c *loadClient) send(ctx context.Context, o outcome, tool string, args map[string]any, id, want string) outcome {
	body, _ := json.Marshal(map[string]any{"name": tool, "arguments": args, "request_id": id})
	if c.mcp {
		o.op += "/mcp"
		body, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{
			"name": tool, "arguments": args, "_meta": map[string]any{
				"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
				"io.modelcontextprotocol/clientCapabilities": map[string]any{},
			}}})
	}
	o.start = time.Now()
	o.kind, o.detail = c.postTo(ctx, body, id, want, tool)
	o.end = time.Now()
	c.tally.add(o)
	return o
}

func (c *loadClient) post(ctx context.Context, body []byte, id, want string) (kind, detail string) {
	return c.postTo(ctx, body, id, want, "")
}

// postTo sends body to the REST API, or to /mcp when c.mcp (tool is then
// the Mcp-Name header).
func (c *loadClient) postTo(ctx context.Context, body []byte, id, want, tool string) (kind, detail string) {
	path := "/mcp/tools/call"
	if c.mcp {
		path = "/mcp"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.b.base+path, bytes.NewReader(body))
	if err != nil {
		return "client_bug", err.Error()
	}
	if c.mcp {
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", tool)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.b.token)
	var idle, answered atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:              func(i httptrace.GotConnInfo) { idle.Store(i.WasIdle) },
		GotFirstResponseByte: func() { answered.Store(true) },
	}))
	resp, err := c.http.Do(req)
	if err != nil && idle.Load() && !answered.Load() && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		// The bridge closed a kept-alive connection as the request went
		// out on it, as an HTTP/1.1 server may when idle or stopping: a
		// client cannot tell whether it was read (for writes, the marker
		// can), and must retry on a new connection.
		return "closed_idle", err.Error()
	}
	if err != nil {
		return transportKind(ctx, err), err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return transportKind(ctx, err), err.Error()
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw = lastEvent(raw)
	}
	kind = classifyAnswer(resp.StatusCode, raw, id, want)
	if kind != "ok" {
		detail = string(raw)
	}
	return kind, detail
}

// lastEvent returns the data of the last event of an event stream: the
// answer, after any notifications.
func lastEvent(stream []byte) []byte {
	var last []byte
	for line := range strings.Lines(string(stream)) {
		if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: "); ok && strings.TrimSpace(d) != "" {
			last = []byte(d)
		}
	}
	return last
}

// transportKind names a failure to get an answer: the client leaving
// (client_gone), a refused connection (refused: nothing was sent), or a
// request sent and never answered (unanswered).
func transportKind(ctx context.Context, err error) string {
	var op *net.OpError
	switch {
	case ctx.Err() != nil:
		return "client_gone"
	case errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	}
	return "unanswered"
}

// rpcAnswer is the part of an answer the suite checks.
type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *struct {
		Code int `json:"code"`
		Data struct {
			Outcome string `json:"outcome"`
		} `json:"data"`
	} `json:"error"`
}

// errorKinds names the bridge's JSON-RPC error codes (httpapi/mcp_errors.go).
var errorKinds = map[int]string{
	-32700: "parse_error", -32602: "invalid_params", -32603: "internal", -31001: "unauthorized",
	-31002: "rate_limited", -31004: "queue_full", -31005: "breaker_open", -31006: "outcome_unknown",
	-31007: "timeout", -31008: "unavailable", -31009: "shutting_down", -31010: "too_large", -31012: "body_timeout",
}

// classifyAnswer names an HTTP answer: "ok" (a successful result for this
// very request, holding want), "tool_error" (isError), an error kind from
// the JSON-RPC code, or "wrong_answer" (another request's id, or a result
// without want) and "bad_answer" (not JSON-RPC).
func classifyAnswer(status int, raw []byte, id, want string) string {
	var a rpcAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Sprintf("bad_answer_%d", status)
	}
	switch {
	case a.Error != nil && a.Error.Code == -31007 && a.Error.Data.Outcome == "not_applied":
		return "timeout_not_applied"
	case a.Error != nil:
		if k, ok := errorKinds[a.Error.Code]; ok {
			return k
		}
		return fmt.Sprintf("error_%d_%d", status, a.Error.Code)
	case a.Result == nil || status != http.StatusOK:
		return fmt.Sprintf("bad_answer_%d", status)
	case string(a.ID) != `"`+id+`"`:
		return "wrong_answer"
	case a.Result.IsError:
		return "tool_error"
	}
	var text strings.Builder
	for _, c := range a.Result.Content {
		text.WriteString(c.Text)
	}
	if !strings.Contains(text.String(), want) {
		return "wrong_answer"
	}
	return "ok"
}

// runLoad runs workers, each with its own client address, until ctx ends;
// each waits think between calls. It returns when every call has ended.
func runLoad(ctx context.Context, b *bridgeProc, prefix string, workers int, think time.Duration, tl *faultTally) {
	var wg sync.WaitGroup
	for w := range workers {
		c := newLoadClient(b, fmt.Sprintf("%s-w%d", prefix, w), net.IPv4(127, 0, 1, byte(10+w)), tl)
		c.mcp = w/anyRole%4 == 3 // a quarter of each role's workers speak MCP over HTTP
		rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
		wg.Go(func() {
			defer c.close()
			for ctx.Err() == nil {
				// Calls are not cut when the load stops: only injectors
				// leave mid-request.
				c.one(context.WithoutCancel(ctx), rng, false, w%anyRole)
				sleepCtx(ctx, think/2+rand.N(think))
			}
		})
	}
	wg.Wait()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
