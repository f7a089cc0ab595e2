package tools

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/rs/zerolog"
)

// HomeAssistant is the part of *hass.Client the tools use.
type HomeAssistant interface {
	// Command sends one WebSocket command and decodes its result.
	Command(ctx context.Context, cmd any, result any) error
	// REST calls the REST API; path is relative to /api.
	REST(ctx context.Context, method, path string, body any, out any) error
	// Subscribe delivers events of one type, across reconnects.
	Subscribe(ctx context.Context, eventType string) (*hass.Subscription, error)
	// RenderTemplate renders a Jinja template once.
	RenderTemplate(ctx context.Context, template string, vars map[string]any) (string, error)
	// Status reports whether the client is connected, and since when.
	Status() hass.Status
	// WaitSubscribed waits for the subscriptions to be re-established on
	// the current connection.
	WaitSubscribed(ctx context.Context) error
}

// registryEvents are the events after which the registries are reloaded.
var registryEvents = []string{"entity_registry_updated", "device_registry_updated",
	"area_registry_updated", "floor_registry_updated"}

// index holds a home kept fresh from state_changed events while Run runs.
// Readers call view; Run's goroutine is the only writer, so a reader that
// asks it to sync first sees every event Home Assistant sent before the
// answer to the reader's last command (the client queues events in wire
// order). A reader that finds every event delivered so far already
// applied, and the home not due for a load, reads it at once instead
// (fresh): handing each read to Run's goroutine and back cost two thread
// wake-ups, a good share of a fast tool call. Without Run, each view loads
// a fresh home.
type index struct {
	ha      HomeAssistant
	log     zerolog.Logger
	now     func() time.Time
	maxAge  time.Duration
	reqs    chan syncReq
	started chan struct{} // closed when Run serves sync requests
	quit    chan struct{} // closed when Run returns
	running atomic.Bool
	// releaseMemory returns the freed memory to the system after each load.
	releaseMemory bool
	// gcHeadroom, if positive, bounds the heap after each load (boundGC).
	gcHeadroom int64

	mu  sync.RWMutex // guards h and gen; written only by Run's goroutine
	h   *home
	gen time.Time // Status.Since of the connection h was loaded on

	// stale is set when events were lost or a registry changed; only
	// Run's goroutine writes it.
	stale atomic.Bool
	// subs are Run's subscriptions, state_changed first, then
	// registryEvents; applied counts the events taken from each, each
	// counted once handled. Both are set before started is closed.
	subs    []*hass.Subscription
	applied []atomic.Uint64

	// The idle release (gcHeadroom) after views that skip Run's goroutine:
	// lastView is when the last one read (since epoch, a monotonic
	// reading), idleArmed whether
	// Run's idle timer runs; a view that finds it stopped tells Run on
	// viewed.
	epoch     time.Time
	lastView  atomic.Int64 // nanoseconds since epoch
	idleArmed atomic.Bool
	viewed    chan struct{} // buffered 1

	// Owned by Run's goroutine.
	idle *time.Timer // see idleTimer
}

type syncReq struct {
	ctx  context.Context
	done chan error
}

func newIndex(ha HomeAssistant, log zerolog.Logger, now func() time.Time, maxAge time.Duration) *index {
	ix := &index{ha: ha, log: log, now: now, maxAge: maxAge, reqs: make(chan syncReq),
		started: make(chan struct{}), quit: make(chan struct{}), viewed: make(chan struct{}, 1), epoch: time.Now()}
	ix.stale.Store(true)
	return ix
}

// view calls fn with an up-to-date home. fn must not keep h or call view.
// A view of a fresh index reads it even if ctx has ended.
func (ix *index) view(ctx context.Context, fn func(h *home) error) error {
	if ix.running.Load() {
		ix.mu.RLock()
		if ix.fresh() {
			defer ix.mu.RUnlock()
			ix.noteFastView()
			noteView(ctx, ix.h)
			return fn(ix.h)
		}
		ix.mu.RUnlock()
		req := syncReq{ctx: ctx, done: make(chan error, 1)}
		select {
		case ix.reqs <- req:
			select {
			case err := <-req.done:
				if err != nil {
					return err
				}
				ix.mu.RLock()
				defer ix.mu.RUnlock()
				noteView(ctx, ix.h)
				return fn(ix.h)
			case <-ctx.Done():
				return fmt.Errorf("waiting for the state index: %w", ctx.Err())
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for the state index: %w", ctx.Err())
		case <-ix.quit:
		}
	}
	h, err := loadHome(ctx, ix.ha, ix.now())
	if err != nil {
		return err
	}
	noteView(ctx, h)
	return fn(h)
}

// fresh reports, with ix.mu held, whether the home may be read as it is:
// loaded, every event the subscriptions delivered so far applied, and not
// due for a load (see due). Reading applied before what was delivered
// makes equal counts mean that every event delivered before the reader
// came had been handled. A view that is not fresh asks Run to sync.
func (ix *index) fresh() bool {
	if ix.h == nil || len(ix.subs) == 0 {
		return false
	}
	for i, s := range ix.subs {
		if ix.applied[i].Load() != s.Delivered() {
			return false
		}
	}
	// due reads stale after the counts: an event handled is counted under
	// ix.mu, with stale already set if it makes the home stale.
	return !ix.due(ix.ha.Status())
}

// noteFastView records a view that did not go through Run, for the idle
// release: Run learns of the first after its idle timer stopped.
func (ix *index) noteFastView() {
	if ix.gcHeadroom <= 0 {
		return
	}
	ix.lastView.Store(int64(time.Since(ix.epoch)))
	if !ix.idleArmed.Load() {
		select {
		case ix.viewed <- struct{}{}:
		default: // Run has yet to take the last one
		}
	}
}

// warm waits until Run serves, then loads the home if it is not loaded.
func (ix *index) warm(ctx context.Context) error {
	select {
	case <-ix.started:
	case <-ix.quit:
		return errors.New("the state index stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	return ix.view(ctx, func(*home) error { return nil })
}

// ViewTimeMeta is the _meta key of an answer that says how current the
// home it was read from is: the bridge's cache (cache.ViewTimeMeta, the
// same key) neither keeps nor serves an answer older than an event it has
// already seen, and asks again.
const ViewTimeMeta = "io.github.mcp-bridge/view_time"

// viewNote records, for one tool call, how current the homes it read were:
// the oldest view among them (zero until one is read).
type viewNote struct {
	mu sync.Mutex
	at time.Time
}

type viewKey struct{}

func withViewNote(ctx context.Context) (context.Context, *viewNote) {
	n := &viewNote{}
	return context.WithValue(ctx, viewKey{}, n), n
}

func noteView(ctx context.Context, h *home) {
	n, _ := ctx.Value(viewKey{}).(*viewNote)
	if n == nil || h.view.IsZero() {
		return
	}
	n.mu.Lock()
	if n.at.IsZero() || h.view.Before(n.at) {
		n.at = h.view
	}
	n.mu.Unlock()
}

func (n *viewNote) time() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.at
}

// Run subscribes to state and registry changes and serves view's sync
// requests until ctx ends. It may be called once.
func (ix *index) Run(ctx context.Context) error {
	defer close(ix.quit)
	states, err := ix.ha.Subscribe(ctx, "state_changed")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("tools: subscribing to state changes: %w", err)
	}
	defer states.Close()
	ix.subs = append(ix.subs, states)
	regs := make([]<-chan hass.Event, len(registryEvents))
	for i, et := range registryEvents {
		sub, err := ix.ha.Subscribe(ctx, et)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tools: subscribing to %s: %w", et, err)
		}
		defer sub.Close()
		regs[i] = sub.Events()
		ix.subs = append(ix.subs, sub)
	}
	ix.applied = make([]atomic.Uint64, len(ix.subs))
	ix.running.Store(true)
	defer ix.running.Store(false)
	close(ix.started)
	release := make(chan struct{}, 1)
	if ix.gcHeadroom > 0 {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { releaseIdle(ctx, release) })
	}
	ix.loop(ctx, states.Events(), regs, release)
	return nil
}

// releaseIdle returns the memory the runtime holds beyond the live heap
// to the system each time release receives, until ctx ends. It runs apart
// from the loop, so that no call waits for the collection it forces.
func releaseIdle(ctx context.Context, release <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-release:
			debug.FreeOSMemory()
		}
	}
}

// staleReload is how long the index stays stale (events were lost, a
// registry changed) before Run reloads it without waiting for a call: a
// burst of registry events costs one reload, and no call waits for it.
// Run also reloads the home at nine tenths of maxAge, before a call would.
const staleReload = 250 * time.Millisecond

// loop serves sync requests and applies events until ctx ends or the
// state subscription closes. With gcHeadroom, it asks release to return
// the memory the calls' garbage took once no call came for idleRelease.
func (ix *index) loop(ctx context.Context, states <-chan hass.Event, regs []<-chan hass.Event, release chan<- struct{}) {
	var reload <-chan time.Time  // set while stale
	var refresh <-chan time.Time // reloads the home before it reaches maxAge
	var loaded *home             // the home refresh was set for
	var idle <-chan time.Time    // with gcHeadroom: fires once no call came for idleRelease
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-states:
			if !ok {
				return
			}
			ix.onState(ev)
		case <-regs[0]:
			ix.onRegistry(0)
		case <-regs[1]:
			ix.onRegistry(1)
		case <-regs[2]:
			ix.onRegistry(2)
		case <-regs[3]:
			ix.onRegistry(3)
		case req := <-ix.reqs:
			ix.settle(req.ctx, states, regs)
			req.done <- ix.sync(req.ctx)
			if ix.gcHeadroom > 0 {
				// Also after a call that loaded the index: the load freed
				// what came before it, not the call's own garbage.
				ix.lastView.Store(int64(time.Since(ix.epoch)))
				idle = ix.idleTimer(idleRelease)
			}
		case <-ix.viewed:
			if idle == nil {
				idle = ix.idleTimer(idleRelease)
			}
		case <-idle:
			idle = nil
			ix.idleArmed.Store(false)
			// A view that saw the timer armed did not say so: wait
			// for the last one's idleRelease to pass.
			if since := time.Since(ix.epoch) - time.Duration(ix.lastView.Load()); since < idleRelease {
				idle = ix.idleTimer(idleRelease - since)
				break
			}
			select {
			case release <- struct{}{}:
			default: // a release is under way
			}
		case <-reload:
			reload = nil
			ix.reloadStale(ctx, states, regs)
		case <-refresh:
			refresh = nil
			ix.stale.Store(true)
		}
		if ix.stale.Load() && reload == nil {
			reload = time.After(staleReload)
		}
		if ix.h != loaded && ix.h != nil {
			loaded, refresh = ix.h, time.After(ix.maxAge*9/10)
		}
	}
}

// idleRelease is how long the index waits after a call before it returns
// the memory the calls' garbage took to the system, when gcHeadroom lets
// that grow: the add-on's memory budget is what it holds while idle.
const idleRelease = time.Second

// idleTimer (re)starts the idle release timer to fire after d and returns
// its channel.
func (ix *index) idleTimer(d time.Duration) <-chan time.Time {
	ix.idleArmed.Store(true)
	if ix.idle == nil {
		ix.idle = time.NewTimer(d)
	} else {
		ix.idle.Reset(d)
	}
	return ix.idle.C
}

// reloadStale reloads a stale index while Home Assistant is connected (a
// call then finds it loaded); while it is not, the next round retries.
func (ix *index) reloadStale(ctx context.Context, states <-chan hass.Event, regs []<-chan hass.Event) {
	ix.drain(states, regs)
	if !ix.stale.Load() || !ix.ha.Status().Connected {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ix.settle(rctx, states, regs)
	if err := ix.sync(rctx); err != nil && ctx.Err() == nil {
		ix.log.Debug().Err(err).Msg("reloading the stale state index")
	}
}

// onState applies one state_changed event, or marks the index stale when
// events were lost.
// It is applied and counted in applied under ix.mu, so that a reader
// holding the read lock sees both or neither (see fresh).
func (ix *index) onState(ev hass.Event) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	defer ix.applied[0].Add(1)
	if ev.Missed {
		ix.stale.Store(true)
	}
	if ix.stale.Load() || len(ev.Data) == 0 {
		return // the next sync reloads everything
	}
	if err := ix.h.apply(ev.Data, ev.TimeFired); err != nil {
		ix.log.Warn().Err(err).Msg("reloading states after an undecodable event")
		ix.stale.Store(true)
	}
}

// onRegistry handles an event of registryEvents[i]: the registries are
// reloaded with the states at the next sync. Like onState, under ix.mu.
func (ix *index) onRegistry(i int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stale.Store(true)
	ix.applied[1+i].Add(1)
}

// due reports whether sync, with the client's status st, loads the home:
// it is stale, or was loaded from an earlier connection, or too old.
func (ix *index) due(st hass.Status) bool {
	return ix.stale.Load() || (st.Connected && !st.Since.Equal(ix.gen)) || ix.now().Sub(ix.h.loadedAt) > ix.maxAge
}

// settle applies the events already queued, before a sync. If the sync
// is to load the home from a connection the index has not loaded from, it
// first waits, within ctx, for the client to re-subscribe on it, then
// takes the events queued meanwhile: each subscription queues a Missed
// event as it comes back, and one taken after the load would mark the
// fresh home stale and load it all again (every child loaded the home
// twice at start). The load would wait for a connection within ctx
// anyway; a sync that loads nothing (the home is current, or Home
// Assistant is down and the home still young) does not wait.
func (ix *index) settle(ctx context.Context, states <-chan hass.Event, regs []<-chan hass.Event) {
	ix.drain(states, regs)
	st := ix.ha.Status()
	if !ix.due(st) || (st.Connected && st.Since.Equal(ix.gen)) {
		return
	}
	if ix.ha.WaitSubscribed(ctx) == nil {
		ix.drain(states, regs)
	}
}

// drain handles every event already queued, without waiting.
func (ix *index) drain(states <-chan hass.Event, regs []<-chan hass.Event) {
	for {
		select {
		case ev, ok := <-states:
			if !ok {
				return
			}
			ix.onState(ev)
			continue
		default:
		}
		for i, r := range regs {
		inner:
			for {
				select {
				case _, ok := <-r:
					if !ok {
						break inner
					}
					ix.onRegistry(i)
				default:
					break inner
				}
			}
		}
		return
	}
}

// sync reloads the home when it is stale, on another connection than the
// one it was loaded on, or older than maxAge.
func (ix *index) sync(ctx context.Context) error {
	st := ix.ha.Status()
	if !ix.due(st) {
		return nil
	}
	h, err := loadHome(ctx, ix.ha, ix.now())
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.h, ix.gen = h, st.Since
	ix.stale.Store(false)
	ix.mu.Unlock()
	ix.log.Debug().Int("entities", len(h.ids)).Msg("state index loaded")
	if ix.releaseMemory {
		debug.FreeOSMemory()
	}
	if ix.gcHeadroom > 0 {
		live, gogc := boundGC(ix.gcHeadroom)
		ix.log.Debug().Int64("live", live).Int("gogc", gogc).Msg("GC percent set")
	}
	return nil
}

// boundGC sets GOGC so that, from the live heap it reads (right after a
// collection), the heap may grow by headroom, or by the live heap if that
// is more, before the next collection, and returns the live heap and that
// GOGC. It is a GOGC, not a memory limit: a limit taken at a load stays
// below the live heap of the next load (the old and the new home at once)
// or of a call that holds more (a long history), and past it the runtime
// collects continuously. GOGC is at most what keeps the runtime's minimum
// heap (4 MiB at GOGC 100, in proportion) within the live heap plus
// headroom.
func boundGC(headroom int64) (live int64, gogc int) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	live = max(int64(s[0].Value.Uint64()), 1)
	const minHeap = 4 << 20 // the runtime's minimum heap goal at GOGC 100
	g := min(100*headroom/live, 100*(live+headroom)/minHeap)
	gogc = int(max(100, min(g, 1<<20)))
	debug.SetGCPercent(gogc)
	return live, gogc
}
