package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ErrViewBehind: every answer a child gave during Config.MaxLagWait was
// older than an event the cache had already seen for what it depends on.
var ErrViewBehind = errors.New("cache: the answering child is behind Home Assistant's events")

// ErrFillPanicked is what callers that joined a fill get when its FillFunc
// panicked (the panic goes on in the caller that ran it).
var ErrFillPanicked = errors.New("cache: the fill panicked")

// Query is one read as the cache sees it.
type Query struct {
	Tool    string          // tool name, or ToolsList
	Args    json.RawMessage // the tools/call arguments (a JSON object; nil means {})
	Profile string          // the exposure profile the answer is shaped by
	Control Control         // the caller's X-Cache-Control
}

// FillFunc computes an answer (a CallToolResult) when the cache has none.
type FillFunc func(ctx context.Context) (json.RawMessage, error)

// Answer is what Do returns. Raw is shared between callers: do not modify.
type Answer struct {
	Raw     json.RawMessage
	Cached  bool          // served from the cache (Level says which)
	Level   Level         // LevelL1 or LevelL2 when Cached: where this read found it
	Stored  bool          // a fill whose answer is now cached
	Expires time.Time     // when the cached or stored answer expires; zero otherwise
	Age     time.Duration // age of a cached or stale answer
	Stale   bool          // a Fallback answer: Home Assistant or the children are down
	Shared  bool          // the answer of another caller's fill
}

// Cache holds answers of read-only tools. It is safe for concurrent use.
// It works without Run; Run adds the periodic removal of expired entries
// and, with Redis, the invalidations of other instances.
type Cache struct {
	cfg Config
	log zerolog.Logger
	m   *metrics
	l2  *l2 // nil without Redis

	born time.Time // L2 entries filled before it are refused: invalidations before it were not seen

	mu      sync.Mutex // guards every field below
	store   *l1
	ix      *index
	flights map[string]*flight // the fill that callers of a key join
	seq     uint64             // invalidations so far: the event watermark
	paused  bool               // the event subscription is down
	marks   marks
	stale   *staleStore
	stats   counters

	aliases  map[aliasScope]map[string]alias // Peek's shortcut from raw arguments to keys
	nAliases int                             // bounded by Config.MaxSize
}

// counters are Stats' figures.
type counters struct {
	hits, misses, evictions, invalidations uint64
}

// flight is one running fill of a key.
type flight struct {
	h      holder
	start  uint64    // Cache.seq when it started
	wall   time.Time // and the wall clock then, for L2
	wm     time.Time // the newest event known for its deps then (HA time)
	settle bool      // started within Config.Settle of an invalidation of its deps
	doomed bool      // something it depends on changed since start
	noJoin bool      // a no-cache fill: nobody joins it
	done   chan struct{}
	ans    Answer
	err    error
}

// New builds a Cache from cfg. It starts nothing; see Run.
func New(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:     cfg,
		born:    time.Now(),
		log:     cfg.Logger.With().Str("component", "cache").Logger(),
		m:       m,
		store:   newL1(cfg.MaxSize, cfg.MaxBytes),
		ix:      newIndex(),
		flights: map[string]*flight{},
		aliases: map[aliasScope]map[string]alias{},
		marks:   newMarks(cfg.MaxTrackedEntities),
		stale:   newStaleStore(cfg.MaxStale, cfg.MaxBytes),
	}
	if cfg.RedisURL != "" {
		if c.l2, err = newL2(cfg, c.log, m); err != nil {
			return nil, err
		}
		// Invalidations published while Redis was down were lost.
		c.l2.onBack = func() { c.flush(context.Background(), CauseRemote) }
	}
	return c, nil
}

// Close releases the Redis connection, if any. The cache keeps working
// with L1 only.
func (c *Cache) Close() error {
	if c.l2 == nil {
		return nil
	}
	return c.l2.close()
}

// Policy returns tool's policy and whether its answers are cached.
func (c *Cache) Policy(tool string) (Policy, bool) {
	p, ok := c.cfg.Policies[tool]
	return p, ok && p.Level != LevelNone && !c.cfg.Disabled
}

// Do answers q from the cache or with fill. Only one fill per key runs at a
// time (callers of the same key wait for it and share its answer), unless
// q.Control.NoCache. Tools without a caching policy, and arguments that
// are not a JSON object, go straight to fill. fill's error is returned as
// it is; ctx ending while waiting returns ctx.Err() wrapped.
func (c *Cache) Do(ctx context.Context, q Query, fill FillFunc) (Answer, error) {
	pol, ok := c.Policy(q.Tool)
	canon, args, cerr := Canonical(q.Args)
	if !ok || cerr != nil {
		raw, err := fill(ctx)
		if err == nil && cerr == nil && !isToolError(raw) {
			c.mu.Lock()
			c.keepStaleLocked(Key(q.Tool, q.Profile, canon), q.Tool, raw)
			c.mu.Unlock()
		}
		return Answer{Raw: raw}, err
	}
	key := Key(q.Tool, q.Profile, canon)
	deps := DepsFor(q.Tool, args)
	c.noticeDrop(deps)
	if !q.Control.NoCache {
		if a, ok := c.lookup(ctx, key, q, pol, deps); ok {
			return a, nil
		}
	}
	for {
		a, err, retry := c.fill(ctx, key, q, pol, deps, fill)
		if !retry {
			return a, err
		}
	}
}

// Get answers q from the cache only (L1, then L2), following q.Control; ok
// is false on a miss, for tools without a caching policy, and for
// no-cache.
func (c *Cache) Get(ctx context.Context, q Query) (Answer, bool) {
	pol, ok := c.Policy(q.Tool)
	canon, args, err := Canonical(q.Args)
	if !ok || err != nil || q.Control.NoCache {
		return Answer{}, false
	}
	deps := DepsFor(q.Tool, args)
	c.noticeDrop(deps)
	return c.lookup(ctx, Key(q.Tool, q.Profile, canon), q, pol, deps)
}

// Peek answers q from L1 only, following q.Control, and never waits: a
// fast path for callers that go on to Do on a miss (which then tries L2).
// Arguments it has seen before, byte for byte, skip canonicalisation.
func (c *Cache) Peek(q Query) (Answer, bool) {
	if _, ok := c.Policy(q.Tool); !ok || q.Control.NoCache {
		return Answer{}, false
	}
	scope := aliasScope{q.Tool, q.Profile}
	c.mu.Lock()
	al, known := c.aliases[scope][string(q.Args)]
	c.mu.Unlock()
	if !known {
		canon, args, err := Canonical(q.Args)
		if err != nil {
			return Answer{}, false
		}
		al = alias{key: Key(q.Tool, q.Profile, canon), onHA: DepsFor(q.Tool, args).onHA()}
		c.mu.Lock()
		c.aliasLocked(scope, string(q.Args), al)
		c.mu.Unlock()
	}
	if al.onHA {
		c.noticeDrop(Deps{AnyState: true})
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.getLocked(al.key, now)
	if e == nil || (q.Control.HasMaxAge && now.Sub(e.stored) > q.Control.MaxAge) {
		return Answer{}, false // Do counts the miss
	}
	c.store.touch(e)
	c.stats.hits++
	c.m.hits[LevelL1].Inc()
	return Answer{Raw: e.raw, Cached: true, Level: LevelL1, Expires: e.expires, Age: now.Sub(e.stored)}, true
}

// aliasScope and alias remember, per tool and profile, the key that raw
// arguments canonicalise to.
type aliasScope struct{ tool, profile string }

type alias struct {
	key  string
	onHA bool // the answer depends on Home Assistant
}

// aliasLocked remembers an alias; past Config.MaxSize of them it forgets
// them all (they are only a shortcut).
func (c *Cache) aliasLocked(scope aliasScope, raw string, al alias) {
	if c.nAliases >= c.cfg.MaxSize {
		clear(c.aliases)
		c.nAliases = 0
	}
	m := c.aliases[scope]
	if m == nil {
		m = map[string]alias{}
		c.aliases[scope] = m
	}
	if _, ok := m[raw]; !ok {
		c.nAliases++
	}
	m[raw] = al
}

// noticeDrop pauses at once when a read that depends on Home Assistant
// finds Config.Connected false, rather than at Run's next poll: a drop
// the bridge knows of flushes before any answer is given.
func (c *Cache) noticeDrop(deps Deps) {
	if c.cfg.Connected == nil || !deps.onHA() || c.cfg.Connected() {
		return
	}
	c.mu.Lock()
	paused := c.paused
	c.mu.Unlock()
	if !paused {
		c.Pause()
	}
}

// fill joins the key's flight or runs a new one. retry means the flight
// joined ended with its leader's cancellation while ctx is still alive.
func (c *Cache) fill(ctx context.Context, key string, q Query, pol Policy, deps Deps, fn FillFunc) (Answer, error, bool) {
	c.mu.Lock()
	if fl := c.flights[key]; fl != nil && !q.Control.NoCache {
		c.mu.Unlock()
		select {
		case <-fl.done:
		case <-ctx.Done():
			return Answer{}, fmt.Errorf("cache: waiting for a fill: %w", ctx.Err()), false
		}
		if fl.err != nil && isCtxErr(fl.err) && ctx.Err() == nil {
			return Answer{}, nil, true
		}
		a := fl.ans
		a.Shared = true
		return a, fl.err, false
	}
	fl := c.startLocked(key, deps, q.Control.NoCache)
	c.mu.Unlock()
	finished := false
	defer func() {
		if !finished { // fn panicked: release the joiners, then let it go on
			c.finish(ctx, fl, q, pol, nil, time.Time{}, ErrFillPanicked)
		}
	}()
	raw, view, err := c.run(ctx, q.Tool, fl.wm, fn)
	finished = true
	c.finish(ctx, fl, q, pol, raw, view, err)
	return fl.ans, fl.err, false
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// startLocked registers a flight for key in the indexes, so that
// invalidations reach it while it runs.
func (c *Cache) startLocked(key string, deps Deps, noJoin bool) *flight {
	mk := c.marks.of(deps)
	fl := &flight{start: c.seq, wall: time.Now(), wm: mk.ha, noJoin: noJoin, done: make(chan struct{})}
	fl.settle = deps.onHA() && !mk.local.IsZero() && fl.wall.Sub(mk.local) < c.cfg.Settle
	fl.h = holder{key: key, deps: deps, fl: fl}
	if c.paused && deps.onHA() {
		fl.doomed = true // nothing that depends on HA is stored until resync
	}
	c.ix.add(&fl.h)
	if !noJoin {
		c.flights[key] = fl
	}
	return fl
}

// run calls fn until its answer is at least as current as wm, the newest
// event the cache knew for the answer's dependencies when the fill started:
// every caller of the fill asked after it (or joined before an event for
// them doomed the fill). An event arriving during the fill dooms the store,
// not the answer, so a steady stream of events cannot starve the fill.
func (c *Cache) run(ctx context.Context, tool string, wm time.Time, fn FillFunc) (json.RawMessage, time.Time, error) {
	wait := c.cfg.LagRetryWait
	deadline := time.Now().Add(c.cfg.MaxLagWait)
	for {
		raw, err := fn(ctx)
		if err != nil {
			return nil, time.Time{}, err
		}
		vt, ok := c.cfg.ViewTime(tool, raw)
		if !ok || !vt.Before(wm) {
			return raw, vt, nil
		}
		c.m.lagging.Inc()
		if time.Now().Add(wait).After(deadline) {
			return nil, time.Time{}, fmt.Errorf("%w: answer of %v, event of %v", ErrViewBehind, vt, wm)
		}
		if !sleepCtx(ctx, wait) {
			return nil, time.Time{}, fmt.Errorf("cache: waiting for a lagging child: %w", ctx.Err())
		}
		wait *= 2
	}
}

// finish records a flight's outcome, stores its answer unless something
// it depends on changed since it started (or just before, for an answer
// that does not say how current it is), and wakes its joiners.
func (c *Cache) finish(ctx context.Context, fl *flight, q Query, pol Policy, raw json.RawMessage, view time.Time, err error) {
	fl.ans, fl.err = Answer{Raw: raw}, err
	toolErr := err == nil && isToolError(raw) // decoded before taking the lock
	var put *entry
	c.mu.Lock()
	c.ix.remove(&fl.h)
	if c.flights[fl.h.key] == fl {
		delete(c.flights, fl.h.key)
	}
	switch {
	case err != nil:
		c.m.fills[fillError].Inc()
	case toolErr:
		c.m.fills[fillUncacheable].Inc()
	case fl.doomed, fl.settle && view.IsZero():
		c.m.fills[fillDiscarded].Inc()
		c.keepStaleLocked(fl.h.key, q.Tool, raw)
	case q.Control.NoStore || len(raw) > c.cfg.MaxEntryBytes:
		c.m.fills[fillUncacheable].Inc()
		c.keepStaleLocked(fl.h.key, q.Tool, raw)
	default:
		c.m.fills[fillStored].Inc()
		c.keepStaleLocked(fl.h.key, q.Tool, raw)
		now := time.Now()
		put = &entry{raw: raw, tool: q.Tool, stored: now, expires: now.Add(pol.TTL), level: LevelL1}
		put.h = holder{key: fl.h.key, deps: fl.h.deps, ent: put}
		c.putLocked(put)
		fl.ans.Stored, fl.ans.Expires = true, put.expires
	}
	c.mu.Unlock()
	close(fl.done)
	if put != nil && pol.Level == LevelL2 && c.l2 != nil {
		le := l2Entry{Raw: raw, Start: fl.wall.UnixNano(), Stored: put.stored.UnixNano(), Expires: put.expires.UnixNano()}
		if !view.IsZero() {
			le.View = view.UnixNano()
		}
		c.l2.set(ctx, put.h.key, le, pol.TTL)
	}
}

// isToolError reports whether a CallToolResult has isError: true; such
// answers are given but never stored.
func isToolError(raw json.RawMessage) bool {
	var r struct {
		IsError bool `json:"isError"`
	}
	return json.Unmarshal(raw, &r) == nil && r.IsError
}

// lookup answers from L1, then L2.
func (c *Cache) lookup(ctx context.Context, key string, q Query, pol Policy, deps Deps) (Answer, bool) {
	now := time.Now()
	fresh := func(stored time.Time) bool {
		return !q.Control.HasMaxAge || now.Sub(stored) <= q.Control.MaxAge
	}
	c.mu.Lock()
	if e := c.getLocked(key, now); e != nil && fresh(e.stored) {
		c.store.touch(e)
		c.stats.hits++
		c.m.hits[LevelL1].Inc()
		c.mu.Unlock()
		return Answer{Raw: e.raw, Cached: true, Level: LevelL1, Expires: e.expires, Age: now.Sub(e.stored)}, true
	}
	c.m.misses[LevelL1].Inc()
	paused := c.paused && deps.onHA()
	c.mu.Unlock()
	if pol.Level != LevelL2 || c.l2 == nil || paused {
		c.countMiss()
		return Answer{}, false
	}
	le, ok := c.l2.get(ctx, key)
	if !ok || !fresh(time.Unix(0, le.Stored)) {
		c.m.misses[LevelL2].Inc()
		c.countMiss()
		return Answer{}, false
	}
	return c.adoptL2(key, q.Tool, deps, le)
}

func (c *Cache) countMiss() {
	c.mu.Lock()
	c.stats.misses++
	c.mu.Unlock()
}

// adoptL2 checks an L2 entry against the invalidations this instance saw
// since its fill started and, if it is still good, copies it into L1.
func (c *Cache) adoptL2(key, tool string, deps Deps, le l2Entry) (Answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mk := c.marks.of(deps)
	start := time.Unix(0, le.Start)
	behind := le.View != 0 && time.Unix(0, le.View).Before(mk.ha)
	if !start.After(mk.local) || !start.After(c.born) || behind || (c.paused && deps.onHA()) {
		c.m.misses[LevelL2].Inc()
		c.stats.misses++
		return Answer{}, false
	}
	e := &entry{raw: le.Raw, tool: tool, stored: time.Unix(0, le.Stored), expires: time.Unix(0, le.Expires), level: LevelL2}
	e.h = holder{key: key, deps: deps, ent: e}
	if time.Until(e.expires) > 0 {
		c.putLocked(e)
	}
	c.stats.hits++
	c.m.hits[LevelL2].Inc()
	return Answer{Raw: e.raw, Cached: true, Level: LevelL2, Expires: e.expires, Age: time.Since(e.stored)}, true
}
