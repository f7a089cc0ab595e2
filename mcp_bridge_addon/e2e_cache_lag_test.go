package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// lagProxy is a TCP proxy in front of the fake Home Assistant that delays
// what Home Assistant sends (WebSocket frames and REST answers alike) by a
// fixed time per connection, in order: a slow link, as Home Assistant's
// protocol sees it. Connection i gets delays[i % len(delays)].
type lagProxy struct {
	ln     net.Listener
	target string
	delays []time.Duration
	n      atomic.Int64
	wg     sync.WaitGroup

	mu    sync.Mutex // guards conns
	conns []net.Conn
}

func startLagProxy(t *testing.T, target string, delays ...time.Duration) *lagProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lagProxy{ln: ln, target: target, delays: delays}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *lagProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *lagProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		delay := p.delays[int(p.n.Add(1)-1)%len(p.delays)]
		p.wg.Go(func() { io.Copy(server, client); server.Close() })
		p.wg.Go(func() { delayedCopy(client, server, delay); client.Close() })
	}
}

// delayedCopy copies src to dst, each chunk delay after it was read. At
// most 256 chunks wait; past that, reading waits (TCP's own back-pressure).
func delayedCopy(dst io.Writer, src io.Reader, delay time.Duration) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	ch := make(chan chunk, 256)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{time.Now().Add(delay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	})
	failed := false
	for c := range ch {
		if failed {
			continue // drain, so that the reader ends
		}
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.data); err != nil {
			failed = true
		}
	}
	wg.Wait()
}

// localBridge is serve's stack run in the test's process, so that the test
// sees when each event reached the bridge's cache (stack.fed). Its
// children are the real binary's stdio subcommand, as in production.
type localBridge struct {
	*bridgeProc
	st *stack
}

// startLocalBridge runs the stack against ha (the bridge's own
// connection) with children connecting to childHA; edit, if not nil,
// adjusts the configuration, and fed, if not nil, sees each event once the
// cache has applied it.
func startLocalBridge(t *testing.T, haURL, childHA, haToken string, edit func(*Config), fed func(cache.Event)) *localBridge {
	t.Helper()
	port := freePort(t)
	token := randomToken("api-token-")
	env := map[string]string{envOptions: t.TempDir() + "/options.json", envHassURL: haURL, envHassToken: haToken,
		envToken: token, envPort: strconv.Itoa(port), envIngressPort: "0"}
	fv, err := parseFlags("serve", []string{"--host", "127.0.0.1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := buildConfig(loadInput{flags: fv, env: mapEnv(env), requireHA: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg.SessionPool.Command = []string{binary(t), "stdio"}
	cfg.SessionPool.Env = map[string]string{envHassURL: childHA, envHassToken: haToken, envOptions: env[envOptions]}
	cfg.RateLimiting.Enabled = false
	if edit != nil {
		edit(cfg)
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	st, err := buildStack(cfg, nil, "", log) // no audit log of writes
	if err != nil {
		t.Fatal(err)
	}
	st.fed = fed
	if err := st.listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("bridge: %v", err)
		}
	})
	b := &localBridge{bridgeProc: &bridgeProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}, st: st}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Ready: the children are up, and the cache has resynchronised on
		// the bridge's connection (a later resync would refuse what other
		// bridges filled before it).
		if st.pool.Stats().Idle >= cfg.SessionPool.MinConnections && st.cacheConnected() && !st.cache.Paused() {
			return b
		}
		if time.Now().After(deadline) {
			ps := st.pool.Stats()
			t.Fatalf("the bridge was not ready in 30 s: %d of %d children idle (%+v), cache connected %v, paused %v",
				ps.Idle, cfg.SessionPool.MinConnections, ps, st.cacheConnected(), st.cache.Paused())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
