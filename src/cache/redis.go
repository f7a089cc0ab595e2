package cache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// l2 is the optional Redis level. Every operation is bounded by
// Config.RedisTimeout; a failure marks Redis down (logged once) and L2 is
// skipped for Config.RedisRetry, then tried again. Callers never see its
// errors: the cache works from L1 meanwhile.
type l2 struct {
	rdb     *redis.Client
	prefix  string
	channel string
	id      string // this instance, to ignore its own messages
	timeout time.Duration
	retry   time.Duration
	log     zerolog.Logger
	m       *metrics
	onBack  func() // Redis answers again after being down

	mu      sync.Mutex // guards down, retryAt
	down    bool
	retryAt time.Time
}

// l2Entry is an answer as stored in Redis. Start is when its fill started
// (wall clock, ns; instances are assumed to share a clock, as on one host
// or under NTP): an instance that saw an invalidation of its dependencies
// after Start, or that started after it, refuses it. View is the answer's
// view time (Home Assistant time, ns; 0 if unknown), checked against the
// reader's own event watermarks.
type l2Entry struct {
	Raw     json.RawMessage `json:"raw"`
	Start   int64           `json:"start"`
	Stored  int64           `json:"stored"`
	Expires int64           `json:"expires"`
	View    int64           `json:"view,omitempty"`
}

func newL2(cfg Config, log zerolog.Logger, m *metrics) (*l2, error) {
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("cache: RedisURL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout
	opt.MaxRetries = -1 // the cache falls back to L1 instead
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &l2{
		rdb: redis.NewClient(opt), prefix: cfg.RedisPrefix, channel: cfg.RedisPrefix + "invalidate",
		id: hex.EncodeToString(id[:]), timeout: cfg.RedisTimeout, retry: cfg.RedisRetry, log: log, m: m,
	}, nil
}

func (l *l2) close() error { return l.rdb.Close() }

func (l *l2) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return l.prefix + "e:" + hex.EncodeToString(sum[:])
}

// usable reports whether L2 may be tried now.
func (l *l2) usable() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down || !time.Now().Before(l.retryAt)
}

func (l *l2) up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down
}

// result records an operation's outcome: the first failure of an outage
// is logged, and so is the return.
func (l *l2) result(err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		l.m.l2Errors.Inc()
		l.mu.Lock()
		was := l.down
		l.down, l.retryAt = true, time.Now().Add(l.retry)
		l.mu.Unlock()
		l.m.l2Up.Set(0)
		if !was {
			l.log.Warn().Err(err).Msg("redis unavailable; caching in memory only until it is back")
		}
		return
	}
	l.mu.Lock()
	was := l.down
	l.down = false
	l.mu.Unlock()
	l.m.l2Up.Set(1)
	if was {
		l.log.Info().Msg("redis is back; shared cache resumed")
		if l.onBack != nil {
			l.onBack()
		}
	}
}

func (l *l2) get(ctx context.Context, key string) (l2Entry, bool) {
	if !l.usable() {
		return l2Entry{}, false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	b, err := l.rdb.Get(ctx, l.key(key)).Bytes()
	l.result(err)
	var e l2Entry
	if err != nil || json.Unmarshal(b, &e) != nil {
		return l2Entry{}, false
	}
	return e, true
}

func (l *l2) set(ctx context.Context, key string, e l2Entry, ttl time.Duration) {
	if !l.usable() {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	l.result(l.rdb.Set(ctx, l.key(key), b, ttl).Err())
}

func (l *l2) del(ctx context.Context, keys []string) {
	if !l.usable() {
		return
	}
	hashed := make([]string, len(keys))
	for i, k := range keys {
		hashed[i] = l.key(k)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	l.result(l.rdb.Del(ctx, hashed...).Err())
}

// Invalidation message kinds.
const (
	msgEntities = "entities" // IDs changed (new state unknown)
	msgStates   = "states"   // any state may have changed
	msgTag      = "tag"      // Tag changed
	msgFlush    = "flush"    // everything
	msgChange   = "change"   // a state_changed this instance saw: IDs[0], Old, New at HA
)

// message is an invalidation sent to the other instances.
type message struct {
	Origin string    `json:"o"`
	Kind   string    `json:"k"`
	IDs    []string  `json:"ids,omitempty"`
	Tag    Tag       `json:"tag,omitempty"`
	Old    *Snapshot `json:"old,omitempty"` // msgChange: the entity before (nil: added)
	New    *Snapshot `json:"new,omitempty"` // and after (nil: removed)
	HA     int64     `json:"ha,omitempty"`  // msgChange: the event's Home Assistant time, ns
}

func (l *l2) publish(ctx context.Context, msg message) {
	if !l.usable() {
		return
	}
	msg.Origin = l.id
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	l.result(l.rdb.Publish(ctx, l.channel, b).Err())
}

// listen applies the other instances' invalidations until ctx ends. After
// a lost subscription it calls resync once re-subscribed, since messages
// may have been missed meanwhile.
func (l *l2) listen(ctx context.Context, apply func(message), resync func()) {
	ps := l.rdb.Subscribe(ctx, l.channel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	defer ps.Close()
	first, lost := true, false
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.result(err)
			lost = true
			if !sleepCtx(ctx, l.retry) {
				return
			}
			continue
		}
		switch msg := msg.(type) {
		case *redis.Subscription:
			l.result(nil)
			if lost && !first {
				resync()
			}
			first, lost = false, false
		case *redis.Message:
			var m message
			if json.Unmarshal([]byte(msg.Payload), &m) == nil && m.Origin != l.id {
				apply(m)
			}
		}
	}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// publish tells the other instances about an invalidation made here.
func (c *Cache) publish(ctx context.Context, msg message) {
	if c.l2 != nil {
		c.l2.publish(ctx, msg)
	}
}

// applyRemote applies another instance's invalidation.
func (c *Cache) applyRemote(m message) {
	ctx := context.Background()
	switch m.Kind {
	case msgEntities:
		c.wrote(m.IDs, false, CauseRemote)
	case msgStates:
		c.wrote(nil, true, CauseRemote)
	case msgTag:
		c.invalidateTag(ctx, m.Tag, CauseRemote)
	case msgFlush:
		c.flush(ctx, CauseRemote)
	case msgChange:
		if len(m.IDs) != 1 {
			return
		}
		// As if this instance had seen the event: the same entries go, and
		// its watermark refuses answers older than the event.
		inv := &invalidation{cause: CauseRemote}
		mk := mark{local: time.Now()}
		if m.HA != 0 {
			mk.ha = time.Unix(0, m.HA)
		}
		c.mu.Lock()
		c.entityLocked(change{id: strings.ToLower(m.IDs[0]), old: m.Old, new: m.New}, mk, inv)
		c.mu.Unlock()
	}
}
