package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/errgroup"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

// Executor runs JSON-RPC requests on child MCP sessions. *pool.Pool
// satisfies it. Call's errors wrap mcpconn.ErrNotSent (never reached a
// child), mcpconn.ErrSessionLost (the child died after the request was
// sent), *mcpconn.RPCError (the child answered an error) or ctx errors.
type Executor interface {
	Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
	InitializeResult(ctx context.Context) (json.RawMessage, error)
}

// Request is one tools/call as a transport received it.
type Request struct {
	Tool      string
	Arguments json.RawMessage // a JSON object; nil or null mean {}
	// Meta is the request's _meta object, passed to the child as it is
	// (it carries the caller's progressToken); nil when absent.
	Meta json.RawMessage
	// CacheControl is the caller's wish about the cache (X-Cache-Control:
	// no-cache, no-store, max-age=N).
	CacheControl cache.Control
	// InputResponses and RequestState continue a call the child answered
	// input_required (2026-07-28 multi-round trips); they are passed to the
	// child as they are. Such a call is never shared with another.
	InputResponses json.RawMessage
	RequestState   string
	// RequestID, if set, makes a repeat of the same call (same tool and
	// arguments, same SessionID) within the queue's IdempotencyTTL get the
	// first outcome instead of running again.
	RequestID string
	// Priority, if set, replaces the tool's default priority.
	Priority *queue.Priority
	// Timeout, if positive, replaces the tool's timeout; it is capped at
	// Config.MaxTimeout. It covers queue wait and execution.
	Timeout time.Duration
	// SessionID is the transport's client session, if any: it scopes
	// RequestID and shows in logs.
	SessionID string
	// Client names who made the call ("api-token", "ha:<user id>"); it
	// shows in logs.
	Client string
	// ClientName is the MCP client's name for itself (its clientInfo), if
	// known; it shows on the dashboard and in the audit log. The client
	// chooses it, so it proves nothing.
	ClientName string
}

// Result is a successful tools/call: the child answered a CallToolResult,
// which may still be a tool error (isError).
type Result struct {
	Raw  json.RawMessage // the child's CallToolResult, unmodified; shared, do not modify
	Meta Meta
}

// Meta describes how the bridge served a call; transports expose it (the
// REST API in result._meta).
type Meta struct {
	QueueWait    time.Duration // time spent queued before running
	Duration     time.Duration // time in Call, queue wait included
	Attempts     int           // attempts this caller's execution made; 0 when shared or replayed
	Deduplicated bool          // joined an identical in-flight read
	Replayed     bool          // outcome of an earlier call with the same RequestID
	Cached       bool          // answered from the cache
	Stale        bool          // answered by the Fallback after a failure
	CacheExpires time.Time     // when the cached answer expires; zero when it is not cached
	Age          time.Duration // age of a cached or stale answer
	Priority     string        // queue priority, e.g. "HIGH"
	Kind         Kind          // read or write
	IsError      bool          // the CallToolResult has isError: true
}

// Bridge is the transport-free core. Its methods are safe for concurrent use.
// Calls are served once Run is running; after Run returns they fail with
// ErrClosed.
type Bridge struct {
	cfg     Config
	log     zerolog.Logger
	exec    Executor
	queue   *queue.Queue
	catalog *catalog
	breaker *breaker
	killers *killers
	metrics *metrics
	perf    *perfWindow
	started time.Time

	listeners listeners
	aborted   context.Context // cancelled when a stop aborts the running calls
	abort     context.CancelFunc
}

// New builds a Bridge and its queue from cfg. It starts nothing; see Run.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	q, err := queue.New(cfg.Queue)
	if err != nil {
		return nil, fmt.Errorf("bridge: building the queue: %w", err)
	}
	b := &Bridge{
		cfg:   cfg,
		log:   cfg.Logger,
		exec:  cfg.Executor,
		queue: q,
		catalog: &catalog{
			exec: cfg.Executor, ttl: cfg.ToolsTTL, refreshMin: cfg.ToolsRefreshMin,
			timeout: cfg.ToolsTimeout, log: cfg.Logger,
		},
		killers: newKillers(),
		metrics: m,
		perf:    newPerfWindow(cfg.StatsWindow),
		started: time.Now(),
	}
	if err := b.registerRate(cfg.Registerer); err != nil {
		return nil, err
	}
	b.aborted, b.abort = context.WithCancel(context.Background())
	b.breaker = newBreaker(cfg.Breaker, cfg.Logger, func(s gobreaker.State) { m.setBreaker(s) })
	return b, nil
}

// Run runs the queue (and, with Config.Capacity, keeps its concurrency equal
// to the children's capacity) until ctx ends. It then refuses new calls,
// lets the running ones finish within Config.StopGrace, aborts those still
// running (see StopError), and returns. Keep the Executor running until
// Run has returned, so that calls in flight can complete.
func (b *Bridge) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	queueDone := make(chan struct{})
	g.Go(func() error { defer close(queueDone); return b.queue.Run(ctx) })
	g.Go(func() error { b.abortAfterGrace(gctx, queueDone); return nil })
	if b.cfg.Capacity != nil {
		g.Go(func() error { b.followCapacity(gctx); return nil })
	}
	return g.Wait()
}

// followCapacity polls Config.Capacity and sets the queue's concurrency, so
// that calls wait in the queue (in priority order) rather than in the pool.
func (b *Bridge) followCapacity(ctx context.Context) {
	last := -1
	t := time.NewTicker(b.cfg.CapacityInterval)
	defer t.Stop()
	for {
		if n := max(b.cfg.Capacity(), 1); n != last {
			b.queue.SetConcurrency(n)
			last = n
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ListTools returns the children's tools, from the cache unless it is older
// than maxAge (a negative maxAge accepts any unexpired list).
func (b *Bridge) ListTools(ctx context.Context, maxAge time.Duration) (ToolList, error) {
	l, err := b.catalog.tools(ctx, maxAge)
	if err != nil {
		return ToolList{}, b.unavailable(ctx, err)
	}
	return l, nil
}

// InitializeResult returns a child's initialize result (its serverInfo,
// capabilities and instructions).
func (b *Bridge) InitializeResult(ctx context.Context) (json.RawMessage, error) {
	return b.exec.InitializeResult(ctx)
}

// QueueLength returns how many calls wait to start; the pool's autoscaler
// reads it.
func (b *Bridge) QueueLength() int { return b.queue.Stats().Pending }

// unavailable wraps an executor failure outside a call as ErrUnavailable,
// leaving the caller's own cancellation as it is.
func (b *Bridge) unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("bridge: %w", ctx.Err())
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
