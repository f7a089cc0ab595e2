// Package dashboard serves the Ingress dashboard: a page built into the
// binary (live status, charts, the last calls, the audit log of writes,
// connection details for LLM tools and a tool tester) and the JSON it
// polls. It records what it shows from the bridge's finished calls
// (Observe, set as bridge.Config.OnCall) and a sampler (Run).
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// Defaults of Config.
const (
	DefaultInterval = 5 * time.Second
	DefaultSamples  = 180 // 15 minutes at DefaultInterval
	DefaultRecent   = 50
)

// Config configures a Dashboard. Stats and Health are required.
type Config struct {
	// Stats returns the bridge's figures (bridge.Bridge.Stats).
	Stats func() bridge.Stats
	// Health returns the health endpoint's answer (httpapi.Server.CheckHealth).
	Health func(ctx context.Context) httpapi.Health
	// Audit, if set, receives every write and is shown.
	Audit *audit.Log
	// AuditFile is where the audit log is kept, as shown to the user.
	AuditFile string

	// Version and Mode are shown in the header.
	Version, Mode string
	// APIToken, if set, is shown (with a copy button) and put in the
	// snippets; set it only for a token the user did not choose. Never
	// logged.
	APIToken string
	// APIPort is the port LLM tools connect to (the host port).
	APIPort int
	// Discovery says that Home Assistant's MCP integration is offered the
	// bridge (add-on mode).
	Discovery bool

	// Interval is the time between two samples of the charts; Samples how
	// many are kept. If zero, 5s and 180 (15 minutes).
	Interval time.Duration
	Samples  int
	// Recent is how many finished calls are kept. If zero, 50.
	Recent int

	// Logger receives errors. Zero value: none.
	Logger zerolog.Logger
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	var errs []error
	if c.Stats == nil || c.Health == nil {
		errs = append(errs, errors.New("dashboard: Config.Stats and Config.Health are required"))
	}
	if c.Interval < 0 || c.Samples < 0 || c.Recent < 0 || c.APIPort < 0 {
		errs = append(errs, errors.New("dashboard: Config values must not be negative"))
	}
	return errors.Join(errs...)
}

// Dashboard keeps what the page shows. Its methods are safe for concurrent
// use.
type Dashboard struct {
	cfg     Config
	log     zerolog.Logger
	started time.Time
	now     func() time.Time

	mu      sync.Mutex // guards calls, next, full, totals, current, series
	calls   []call     // ring of the last cfg.Recent calls
	next    int
	full    bool
	totals  counters // since start
	current counters // since the last sample
	series  []Sample // ring of cfg.Samples samples
	snext   int
	sfull   bool
}

// counters count finished calls.
type counters struct {
	Calls     int64   `json:"calls"`
	Errors    int64   `json:"errors"` // failed because of the bridge or its children
	CacheHits int64   `json:"cache_hits"`
	Writes    int64   `json:"writes"`
	totalMS   float64 // sum of durations, for the mean
}

// New builds a Dashboard from cfg. It starts nothing; see Run.
func New(cfg Config) (*Dashboard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Samples == 0 {
		cfg.Samples = DefaultSamples
	}
	if cfg.Recent == 0 {
		cfg.Recent = DefaultRecent
	}
	return &Dashboard{
		cfg: cfg, log: cfg.Logger, started: time.Now(), now: time.Now,
		calls: make([]call, cfg.Recent), series: make([]Sample, cfg.Samples),
	}, nil
}

// Run takes a sample every Config.Interval until ctx ends.
func (d *Dashboard) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.sample(d.now())
		}
	}
}

// Observe records a finished call: in the recent calls, the counters and,
// for a write, the audit log. Pass it as bridge.Config.OnCall. It does no
// I/O.
func (d *Dashboard) Observe(ctx context.Context, f bridge.Finished) {
	c := newCall(ctx, f)
	d.mu.Lock()
	d.calls[d.next] = c
	d.next = (d.next + 1) % len(d.calls)
	d.full = d.full || d.next == 0
	for _, k := range []*counters{&d.totals, &d.current} {
		k.add(f)
	}
	d.mu.Unlock()
	if f.Kind == bridge.KindWrite && d.cfg.Audit != nil {
		d.cfg.Audit.Add(auditEntry(ctx, f))
	}
}

func (k *counters) add(f bridge.Finished) {
	if f.Outcome == "cancelled" {
		return // the caller left: says nothing about the bridge
	}
	k.Calls++
	k.totalMS += ms(f.Result.Meta.Duration)
	if isServiceError(f.Outcome) {
		k.Errors++
	}
	if f.Result.Meta.Cached {
		k.CacheHits++
	}
	if f.Kind == bridge.KindWrite {
		k.Writes++
	}
}

// isServiceError: the outcomes counted in the bridge's error rate.
func isServiceError(outcome string) bool {
	switch outcome {
	case "rejected", "timeout", "unknown_outcome", "failed":
		return true
	}
	return false
}

// Sample is one point of the charts: the calls that finished in the
// interval before Time.
type Sample struct {
	Time      time.Time `json:"t"`
	Calls     int64     `json:"calls"`
	RPS       float64   `json:"rps"`
	AvgMS     float64   `json:"avg_ms"`
	Errors    int64     `json:"errors"`
	CacheHits int64     `json:"cache_hits"`
	Pending   int       `json:"pending"` // calls waiting in the queue at Time
}

// sample closes the current interval.
func (d *Dashboard) sample(now time.Time) {
	pending := d.cfg.Stats().Queue.Pending
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.current
	d.current = counters{}
	s := Sample{Time: now.UTC().Truncate(time.Second), Calls: c.Calls, Errors: c.Errors, CacheHits: c.CacheHits,
		Pending: pending, RPS: round2(float64(c.Calls) / d.cfg.Interval.Seconds())}
	if c.Calls > 0 {
		s.AvgMS = round2(c.totalMS / float64(c.Calls))
	}
	d.series[d.snext] = s
	d.snext = (d.snext + 1) % len(d.series)
	d.sfull = d.sfull || d.snext == 0
}

// samples returns the kept samples, oldest first. d.mu must be held.
func (d *Dashboard) samplesLocked() []Sample {
	if !d.sfull {
		return append([]Sample{}, d.series[:d.snext]...)
	}
	return append(append([]Sample{}, d.series[d.snext:]...), d.series[:d.snext]...)
}

// recentLocked returns the kept calls, newest first. d.mu must be held.
func (d *Dashboard) recentLocked() []call {
	n := d.next
	if d.full {
		n = len(d.calls)
	}
	out := make([]call, 0, n)
	for i := range n {
		out = append(out, d.calls[(d.next-1-i+len(d.calls))%len(d.calls)])
	}
	return out
}

// auditEntry describes a write for the audit log.
func auditEntry(ctx context.Context, f bridge.Finished) audit.Entry {
	e := audit.Entry{
		Time: f.Start.UTC(), Who: who(f.Request.Client), User: httpapi.IngressUserName(ctx), Client: f.Request.ClientName,
		Tool: f.Request.Tool, Outcome: writeOutcome(f), DurationMS: f.Result.Meta.Duration.Milliseconds(),
	}
	if f.Err != nil {
		e.Error = f.Err.Error()
	} else if f.Result.Meta.IsError {
		e.Error = toolErrorText(f.Result.Raw)
	}
	var args map[string]any
	if json.Unmarshal(f.Request.Arguments, &args) == nil && args != nil {
		e.Service = service(args)
		for _, t := range bridge.Locks(f.Request.Tool, args) {
			if !strings.HasPrefix(t, "tool:") {
				e.Targets = append(e.Targets, t)
			}
		}
	}
	return e
}

// who names an anonymous caller (standalone on loopback without a token).
func who(client string) string {
	if client == "" {
		return "local"
	}
	return client
}

// writeOutcome says whether a write happened: ok, error (the tool said
// no), failed (it never reached Home Assistant) or unknown.
func writeOutcome(f bridge.Finished) string {
	switch {
	case f.Err == nil && f.Result.Meta.IsError:
		return audit.OutcomeError
	case f.Err == nil:
		return audit.OutcomeOK
	case errors.Is(f.Err, bridge.ErrOutcomeUnknown), errors.Is(f.Err, context.Canceled):
		// A write whose caller left runs on: its caller never learns how.
		return audit.OutcomeUnknown
	}
	return audit.OutcomeFailed
}

// service returns "domain.service" from call_service-style arguments.
func service(args map[string]any) string {
	d, _ := args["domain"].(string)
	s, _ := args["service"].(string)
	switch {
	case d != "" && s != "":
		return d + "." + s
	case strings.Contains(s, "."):
		return s
	}
	return ""
}

// toolErrorText returns the text of an isError result, for the audit log.
func toolErrorText(raw json.RawMessage) string {
	var r struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.Content) == 0 {
		return "the tool answered an error"
	}
	return r.Content[0].Text
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
