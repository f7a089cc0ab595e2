package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/mcphttp"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
)

// bareBody is the bare server's fixed answer: a tools/call answer of the
// same shape as the bridge's.
var bareBody = []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`)

// stack is the bridge's HTTP server with its pool, and the bare server,
// all owned by one errgroup.
type stack struct {
	bridgeURL, bareURL, relayURL string
	muxURL                       string // the multiplexing floor (muxfloor.go)
	childFloorURL                string
	cacheURL                     string // the cache-hit bridge (cachehit.go)
	token                        string
	cancel                       context.CancelFunc
	g                            *errgroup.Group
}

// upAlways is the health checker: the load test has no Home Assistant.
type upAlways struct{}

func (upAlways) Ping(context.Context) (time.Duration, error) { return 0, nil }

func startStack(ctx context.Context, o options, ch *child) (*stack, error) {
	p, b, mh, srv, token, err := newBridgeServer(o, ch)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	cb, csrv, err := newCacheServer(p, ch.calls, token)
	if err != nil {
		return nil, err
	}
	if err := csrv.Listen(); err != nil {
		return nil, err
	}
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bare := &http.Server{Handler: http.HandlerFunc(serveBare), ReadHeaderTimeout: 10 * time.Second}
	relayLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rl, err := startRelay()
	if err != nil {
		return nil, err
	}
	relaySrv := &http.Server{Handler: rl, ReadHeaderTimeout: 10 * time.Second}
	muxLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mx, err := startMuxRelay()
	if err != nil {
		return nil, err
	}
	muxSrv := &http.Server{Handler: mx, ReadHeaderTimeout: 10 * time.Second}
	cfLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cf, err := startChildRelay(ch)
	if err != nil {
		return nil, err
	}
	cfSrv := &http.Server{Handler: cf, ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	g := new(errgroup.Group)
	g.Go(func() error { return p.Run(poolCtx) })
	g.Go(func() error { defer stopPool(); return b.Run(ctx) }) // the pool outlives the bridge's drain
	g.Go(func() error { defer mh.Close(); return srv.Run(ctx) })
	g.Go(func() error { return cb.Run(ctx) })
	g.Go(func() error { return csrv.Run(ctx) })
	g.Go(func() error { return serveUntil(ctx, bare, bareLn) })
	g.Go(func() error { return errors.Join(serveUntil(ctx, relaySrv, relayLn), rl.close()) })
	g.Go(func() error { return errors.Join(serveUntil(ctx, muxSrv, muxLn), mx.close()) })
	g.Go(func() error { serveUntil(ctx, cfSrv, cfLn); cf.close(); return nil }) // a child killed at the end is no failure
	st := &stack{bridgeURL: "http://" + srv.Addr().String(), bareURL: "http://" + bareLn.Addr().String(),
		relayURL: "http://" + relayLn.Addr().String(), muxURL: "http://" + muxLn.Addr().String(), childFloorURL: "http://" + cfLn.Addr().String(),
		cacheURL: "http://" + csrv.Addr().String(), token: token, cancel: cancel, g: g}
	if err := waitReady(ctx, p, b, o.children*o.inflight); err != nil {
		st.close()
		return nil, err
	}
	if err := st.warmCache(ctx, ch.calls); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// newBridgeServer wires the bridge as main does (mcp_bridge_addon/wire.go):
// pool, bridge, the /mcp REST routes, Streamable HTTP at /mcp and HTTP+SSE
// at /sse, and the HTTP server with its bearer token.
func newBridgeServer(o options, ch *child) (*pool.Pool, *bridge.Bridge, *mcphttp.Handler, *httpapi.Server, string, error) {
	p, err := pool.New(pool.Config{
		Command: ch.command, Env: ch.env,
		MinSessions: o.children, MaxSessions: o.children, TargetSessions: o.children,
		MaxInflightPerSession: o.inflight,
		Logger:                zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.WarnLevel).With().Timestamp().Logger(),
	})
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	reg := prometheus.NewRegistry()
	// ours reads a few entities over and over: identical concurrent reads
	// would share one execution, which the peer does not do.
	b, err := bridge.New(bridge.Config{Executor: p, Capacity: p.Capacity, Registerer: reg, DisableDedup: ch.kind == childOurs})
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	mh, err := mcphttp.New(mcphttp.Config{Core: b, Version: "loadtest", Identity: func(*http.Request) string { return "api-token" }})
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	m, err := httpapi.NewMCP(httpapi.MCPConfig{Bridge: b, Gatherer: reg, Registerer: reg, Version: "loadtest",
		Streamable: mh.Streamable(), SSE: mh.SSE()})
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	token := randomToken()
	srv, err := httpapi.New(httpapi.Config{Addr: "127.0.0.1:0", APIToken: token, RequireToken: true, Health: upAlways{}, Routes: m.Routes})
	return p, b, mh, srv, token, err
}

func serveBare(w http.ResponseWriter, r *http.Request) {
	var buf [512]byte
	for { // read the body, as the bridge does
		if _, err := r.Body.Read(buf[:]); err != nil {
			break
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(bareBody)
}

func serveUntil(ctx context.Context, s *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// waitReady waits until the children are up and the queue follows them.
func waitReady(ctx context.Context, p *pool.Pool, b *bridge.Bridge, capacity int) error {
	deadline := time.Now().Add(60 * time.Second)
	for p.Capacity() < capacity || b.Stats().Queue.Concurrency < capacity {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("children not ready: capacity %d of %d", p.Capacity(), capacity)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func (s *stack) close() error {
	s.cancel()
	return s.g.Wait()
}

func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// bareTarget checks that the bare server's answer is the fixed body.
func (s *stack) bareTarget() target {
	return postTarget("bare", s.bareURL+"/mcp/tools/call", "", restBody(echoCalls), func(_ int, _ int, body []byte) error {
		if !bytes.Equal(body, bareBody) {
			return fmt.Errorf("unexpected body %.100q", body)
		}
		return nil
	})
}

// restTarget checks that the REST API answered each call with its own
// arguments.
func (s *stack) restTarget(calls callSpec) target {
	return postTarget("REST", s.bridgeURL+"/mcp/tools/call", s.token, restBody(calls), calls.check)
}

// restBody is the REST API's tools/call body.
func restBody(calls callSpec) func(b []byte, w, i int) []byte {
	return func(b []byte, w, i int) []byte {
		b = fmt.Appendf(b, `{"name":%q,"arguments":`, calls.tool)
		return append(calls.args(b, w, i), '}')
	}
}

// relayTarget checks that the relay echoed the call's own body.
func (s *stack) relayTarget() target {
	return postTarget("floor", s.relayURL+"/mcp/tools/call", "", callBody, checkRelay)
}

// muxTarget checks that the multiplexing floor echoed the call's own body.
func (s *stack) muxTarget() target {
	return postTarget(muxFloor, s.muxURL+"/mcp/tools/call", "", callBody, checkRelay)
}

// childFloorTarget checks the child floor's answers as the REST API's.
func (s *stack) childFloorTarget(calls callSpec) target {
	return postTarget("child-floor", s.childFloorURL+"/", "", restBody(calls), calls.check)
}

func (s *stack) streamableTarget(calls callSpec) target {
	return streamableTarget("Streamable", mcpEndpoint{url: s.bridgeURL + "/mcp", token: s.token}, calls)
}

func (s *stack) sseTarget(calls callSpec) target {
	return sseTarget("SSE", mcpEndpoint{url: s.bridgeURL + "/sse", token: s.token}, calls)
}
