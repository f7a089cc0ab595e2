package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// redisServer is a redis-server this test started on a loopback port,
// without persistence.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

// startRedis starts a redis-server for t, stopped at cleanup. Without the
// binary the test is skipped, or fails when CI is set.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not found; CI must install it (apt-get install -y redis-server)")
		}
		t.Skip("redis-server not found; install it (apt-get install -y redis-server) to run the L2 tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
	defer rdb.Close()
	waitFor(s.t, 10*time.Second, "redis-server to answer PING", func() bool {
		return rdb.Ping(context.Background()).Err() == nil
	})
}

// stop kills the server this test started (and only it) and waits for it.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// waitFor polls cond until it holds, failing the test after limit. It
// waits for asynchronous effects (pub/sub delivery, reconnection); it
// asserts nothing by sleeping.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

// instance is one bridge's cache on a shared Redis, running until the test ends.
type instance struct {
	*cache.Cache
	log *syncBuffer
}

func l2Instances(t *testing.T, srv *redisServer, n int) []instance {
	t.Helper()
	pols := map[string]cache.Policy{
		"get_entities":     {TTL: time.Minute, Level: cache.LevelL2},
		cache.ToolsList:    {TTL: time.Hour, Level: cache.LevelL2},
		"get_entity_state": {TTL: 10 * time.Second, Level: cache.LevelL2},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var out []instance
	for range n {
		log := &syncBuffer{}
		c := newCache(t, cache.Config{RedisURL: srv.url(), Policies: pols, RedisRetry: 50 * time.Millisecond,
			RedisTimeout: 200 * time.Millisecond, Logger: zerolog.New(log)})
		wg.Go(func() { c.Run(ctx) })
		out = append(out, instance{c, log})
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", srv.port)})
	defer rdb.Close()
	waitFor(t, 10*time.Second, "every instance to subscribe", func() bool {
		subs, err := rdb.PubSubNumSub(context.Background(), cache.DefaultRedisPrefix+"invalidate").Result()
		return err == nil && subs[cache.DefaultRedisPrefix+"invalidate"] == int64(n)
	})
	return out
}

func TestRedisSharesEntries(t *testing.T) {
	srv := startRedis(t)
	in := l2Instances(t, srv, 2)
	a, b := in[0], in[1]
	f := &counter{}
	lights := q("get_entities", `{"domain":"light"}`)
	first := do(t, a, lights, f.fill)
	got := do(t, b, q("get_entities", ` {"domain" : "light"} `), f.fill)
	if !got.Cached || got.Level != cache.LevelL2 || string(got.Raw) != string(first.Raw) || f.n.Load() != 1 {
		t.Errorf("second instance: cached %v level %v raw %s fills %d; want A's answer from L2, 1 fill", got.Cached, got.Level, got.Raw, f.n.Load())
	}
	if again := do(t, b, lights, f.fill); !again.Cached {
		t.Error("second read on B not cached")
	}
	// An instance started later may have missed invalidations of older
	// entries: it refuses them.
	late := newCache(t, cache.Config{RedisURL: srv.url(), Policies: map[string]cache.Policy{"get_entities": {Level: cache.LevelL2}}})
	if got := do(t, late, lights, f.fill); got.Cached {
		t.Error("an instance started after the fill took it from L2")
	}
	if s := b.Stats(); s.L2 != "up" {
		t.Errorf("Stats().L2 = %q; want up", s.L2)
	}
	l1only := q("get_services", `{}`) // an L1 policy stays in its instance
	do(t, a, l1only, f.fill)
	if got := do(t, b, l1only, f.fill); got.Cached {
		t.Error("an L1-only answer was shared")
	}
}

func TestRedisInvalidationReachesOthers(t *testing.T) {
	tests := []struct {
		name  string
		query cache.Query
		op    func(context.Context, *cache.Cache)
	}{
		{"write", q("get_entity_state", `{"entity_id":"light.kitchen"}`), func(ctx context.Context, c *cache.Cache) {
			c.Wrote(ctx, "call_service", []byte(`{"domain":"light","service":"turn_on","entity_id":"light.kitchen"}`))
		}},
		{"broad write", q("get_entities", `{"domain":"light"}`), func(ctx context.Context, c *cache.Cache) {
			c.Wrote(ctx, "call_service", []byte(`{"domain":"light","service":"turn_on","area_id":"kitchen"}`))
		}},
		{"tools changed", q(cache.ToolsList, ``), func(ctx context.Context, c *cache.Cache) { c.InvalidateTag(ctx, cache.TagTools) }},
		{"flush", q("get_entities", `{}`), func(ctx context.Context, c *cache.Cache) { c.Flush(ctx) }},
	}
	srv := startRedis(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := l2Instances(t, srv, 2)
			a, b := in[0], in[1]
			f := &counter{}
			do(t, a, tt.query, f.fill)
			if got := do(t, b, tt.query, f.fill); !got.Cached {
				t.Fatal("B did not get A's entry")
			}
			tt.op(t.Context(), a.Cache)
			waitFor(t, 5*time.Second, "B to drop the entry", func() bool {
				_, ok := b.Get(t.Context(), tt.query)
				return !ok
			})
			if got := do(t, b, tt.query, f.fill); got.Cached {
				t.Errorf("B still answers from a cache after A's invalidation")
			}
		})
	}
}

func TestRedisDownDegradesAndRecovers(t *testing.T) {
	srv := startRedis(t)
	in := l2Instances(t, srv, 2)
	a, b := in[0], in[1]
	f := &counter{}
	lights := q("get_entities", `{"domain":"light"}`)
	do(t, a, lights, f.fill)

	srv.stop()
	for i := range 5 { // callers never see Redis's errors
		query := q("get_entities", fmt.Sprintf(`{"offset":%d}`, i))
		do(t, a, query, f.fill)
		if got := do(t, a, query, f.fill); !got.Cached {
			t.Errorf("with Redis down, L1 did not answer %s", query.Args)
		}
		do(t, b, query, f.fill)
	}
	if got := do(t, a, lights, f.fill); !got.Cached {
		t.Error("with Redis down, A lost its L1 entry")
	}
	if s := a.Stats(); s.L2 != "down" {
		t.Errorf("Stats().L2 = %q with Redis stopped; want down", s.L2)
	}
	if n := a.log.count("redis unavailable"); n != 1 {
		t.Errorf("%q logged %d times; want once per outage", "redis unavailable", n)
	}

	srv.start()
	try := 0
	waitFor(t, 10*time.Second, "L2 to resume: B gets A's fresh fill", func() bool {
		try++
		shared := q("get_entities", fmt.Sprintf(`{"domain":"switch","offset":%d}`, try))
		filled := do(t, a, shared, f.fill)
		got, ok := b.Get(t.Context(), shared)
		return ok && got.Level == cache.LevelL2 && string(got.Raw) == string(filled.Raw)
	})
	tools := q(cache.ToolsList, ``)
	waitFor(t, 10*time.Second, "invalidations to flow again", func() bool {
		do(t, b, tools, f.fill)
		a.InvalidateTag(t.Context(), cache.TagTools)
		for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, ok := b.Get(t.Context(), tools); !ok {
				return true
			}
		}
		return false
	})
	if n := a.log.count("redis is back"); n < 1 {
		t.Errorf("recovery not logged")
	}
}

// TestRedisStateChangeReachesOthers: a state_changed that one instance saw
// reaches the others before (or without) their own subscription's copy:
// their entries that it changes go, their lists it does not touch stay,
// and their watermark refuses an answer older than the event.
func TestRedisStateChangeReachesOthers(t *testing.T) {
	srv := startRedis(t)
	in := l2Instances(t, srv, 2)
	a, b := in[0], in[1]
	f := &counter{}
	lightsOn, switches := q("get_entities", `{"domain":"light","state":"on"}`), q("get_entities", `{"domain":"switch"}`)
	state := q("get_entity_state", `{"entity_id":"light.kitchen"}`)
	for _, query := range []cache.Query{lightsOn, switches, state} {
		do(t, b, query, f.fill)
	}
	at := time.Now().Add(-time.Second).UTC()
	a.OnEvent(stateEvent("light.kitchen", "off", "on", at))
	waitFor(t, 5*time.Second, "B to drop what the change reaches", func() bool {
		_, on := b.Get(t.Context(), lightsOn)
		_, st := b.Get(t.Context(), state)
		return !on && !st
	})
	if _, ok := b.Get(t.Context(), switches); !ok {
		t.Error("B dropped a list the change does not reach")
	}
	behind := func(context.Context) (json.RawMessage, error) {
		return result(map[string]any{"entity_id": "light.kitchen", "state": "off", "last_updated": at.Add(-time.Millisecond)}), nil
	}
	if _, err := b.Do(t.Context(), state, behind); !errors.Is(err, cache.ErrViewBehind) {
		t.Errorf("B took an answer older than A's event: %v; want ErrViewBehind", err)
	}
}
