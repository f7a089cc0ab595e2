package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// redisProc is a redis-server this test started on a loopback port,
// without persistence; stop kills it (and only it).
type redisProc struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

// startRedisServer starts a redis-server for t. Without the binary the
// test is skipped, or fails when CI is set.
func startRedisServer(t *testing.T) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not found; CI must install it (.ci/setup-system)")
		}
		t.Skip("redis-server not found; install it to run the shared-cache tests")
	}
	r := &redisProc{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server did not start")
		}
	}
}

func (r *redisProc) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// stateRead is one get_entity_state through the REST API, without failing
// the test: the state shown and whether it came from the cache.
func stateRead(b *localBridge, entity string) (state string, cached bool, err error) {
	body, _ := json.Marshal(map[string]any{"name": "get_entity_state", "arguments": map[string]any{"entity_id": entity}})
	status, m, err := postJSON(b.base+"/mcp/tools/call", b.token, body)
	if err != nil {
		return "", false, err
	}
	res, _ := m["result"].(map[string]any)
	if status != 200 || res == nil || res["isError"] == true {
		return "", false, fmt.Errorf("get_entity_state %s: %d %v", entity, status, m)
	}
	sc, _ := res["structuredContent"].(map[string]any)
	meta, _ := res["_meta"].(map[string]any)
	state, _ = sc["state"].(string)
	cached, _ = meta["io.github.mcp-bridge/cached"].(bool)
	return state, cached, nil
}

func l2Hits(t *testing.T, b *localBridge) float64 {
	t.Helper()
	a := request(t, b.base+"/metrics", b.token)
	for _, line := range strings.Split(a.body, "\n") {
		if v, ok := strings.CutPrefix(line, `mcp_bridge_cache_hits_total{level="l2"} `); ok {
			var n float64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// TestServeCacheRedis runs two bridges, each with its own real child, on
// one redis-server (REDIS_URL). Bridge B's own Home Assistant connection
// is slowed by 1.5 s, so that it hears of a change well after A. A fills
// and B answers from Redis; a change A saw reaches B over Redis before B's
// own event; with Redis killed both answer every read from memory, without
// an error; with Redis back on the same port, B answers A's fills again.
func TestServeCacheRedis(t *testing.T) {
	rs := startRedisServer(t)
	ha := simhome.NewServer(t, simhome.Options{})
	slow := startLagProxy(t, strings.TrimPrefix(ha.URL(), "http://"), 1500*time.Millisecond)
	const light = "light.kitchen_spots"
	seen := func(flag *atomic.Bool) func(cache.Event) {
		return func(ev cache.Event) {
			if ev.Type == "state_changed" && strings.Contains(string(ev.Data), `"entity_id":"`+light+`"`) {
				flag.Store(true)
			}
		}
	}
	var aSaw, bSaw atomic.Bool
	one := func(c *Config) {
		c.SessionPool.MinConnections, c.SessionPool.TargetConnections, c.SessionPool.MaxConnections = 1, 1, 1
		c.SessionPool.AutoScale = false
		c.Cache.Levels.L2.Enabled, c.Cache.Levels.L2.URL = true, rs.url()
	}
	a := startLocalBridge(t, ha.URL(), ha.URL(), ha.Token(), one, seen(&aSaw))
	b := startLocalBridge(t, slow.url(), ha.URL(), ha.Token(), one, seen(&bSaw))

	mustRead := func(br *localBridge, entity string) (string, bool) {
		t.Helper()
		state, cached, err := stateRead(br, entity)
		if err != nil {
			t.Fatal(err)
		}
		return state, cached
	}
	// A fills; B answers from Redis.
	if _, cached := mustRead(a, light); cached {
		t.Fatal("A's first read was cached")
	}
	if state, cached := mustRead(b, light); !cached || state != "off" || l2Hits(t, b) != 1 {
		t.Fatalf("B: %q, cached %v, L2 hits %v; want A's answer off from Redis", state, cached, l2Hits(t, b))
	}

	// A change: A hears of it at once, B 1.5 s later; B's answers show it
	// as soon as A's word reaches it over Redis.
	ha.SetState(light, "on", nil)
	for start := time.Now(); !aSaw.Load(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("A never saw the change")
		}
	}
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		state, cached := mustRead(b, light)
		if state == "on" {
			if bSaw.Load() {
				t.Fatalf("B showed the change only after its own event (%v after A's): Redis did not carry it", time.Since(start))
			}
			break
		}
		if bSaw.Load() {
			t.Fatalf("B answered %q (cached %v) after its own event", state, cached)
		}
	}

	// Redis dies: both bridges answer from memory, without an error.
	rs.stop()
	var entities []string
	for _, e := range ha.EntityIDs() {
		if e != light && len(entities) < 4 {
			entities = append(entities, e)
		}
	}
	for _, br := range []*localBridge{a, b} {
		for _, e := range entities {
			if _, err := readAllowed(br, e); err != nil {
				t.Fatalf("with Redis down: %v", err)
			}
			if state, cached, err := stateRead(br, e); err != nil || !cached {
				t.Fatalf("with Redis down, the second read of %s: %q cached %v, %v; want it from memory", e, state, cached, err)
			}
		}
	}
	// Redis comes back on the same port: B answers A's new fills from it
	// (entities neither has read yet, so that B's memory cannot answer).
	rs.start()
	before := l2Hits(t, b)
	var fresh []string
	for _, e := range ha.EntityIDs() {
		if e != light && !slices.Contains(entities, e) {
			fresh = append(fresh, e)
		}
	}
	for start := time.Now(); l2Hits(t, b) == before; {
		if time.Since(start) > 20*time.Second || len(fresh) == 0 {
			t.Fatal("L2 did not resume after Redis came back")
		}
		e := fresh[0]
		fresh = fresh[1:]
		if _, err := readAllowed(a, e); err != nil {
			t.Fatal(err)
		}
		if _, _, err := stateRead(b, e); err != nil {
			t.Fatalf("after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readAllowed is stateRead that only reports errors.
func readAllowed(b *localBridge, entity string) (string, error) {
	state, _, err := stateRead(b, entity)
	return state, err
}
