package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/pool"
)

// cacheHit is the name of the cache-hit row: the REST API of a second
// bridge, with a response cache, on the same children, asked the same few
// reads over and over, so that (after the first call of each) every call
// is answered from the cache.
const cacheHit = "REST-cache-hit"

// cacheKeys is how many distinct reads the cache-hit workers share.
const cacheKeys = 16

// targetCacheHitRatio: a cache hit through POST /mcp/tools/call at the
// highest level >= 0.7 x the bare server's req/s.
const targetCacheHitRatio = 0.7

// newCacheServer builds the cache-hit bridge: as newBridgeServer's, plus a
// cache that keeps calls.tool's answers for an hour (the tool counts as a
// read whatever its hints say).
func newCacheServer(p *pool.Pool, calls callSpec, token string) (*bridge.Bridge, *httpapi.Server, error) {
	reg := prometheus.NewRegistry()
	c, err := cache.New(cache.Config{
		Policies:   map[string]cache.Policy{calls.tool: {TTL: time.Hour, Level: cache.LevelL1}},
		Logger:     zerolog.Nop(),
		Registerer: reg,
	})
	if err != nil {
		return nil, nil, err
	}
	tools := bridge.DefaultToolPolicies()
	pol := tools[calls.tool]
	pol.Kind = bridge.KindRead
	tools[calls.tool] = pol
	b, err := bridge.New(bridge.Config{Executor: p, Capacity: p.Capacity, Registerer: reg, Cache: c, Tools: tools})
	if err != nil {
		return nil, nil, err
	}
	m, err := httpapi.NewMCP(httpapi.MCPConfig{Bridge: b, Gatherer: reg, Registerer: reg, Version: "loadtest"})
	if err != nil {
		return nil, nil, err
	}
	srv, err := httpapi.New(httpapi.Config{Addr: "127.0.0.1:0", APIToken: token, RequireToken: true, Health: upAlways{}, Routes: m.Routes})
	return b, srv, err
}

// cacheHitTarget asks one of cacheKeys reads per call; the answer must be
// that read's own.
func (s *stack) cacheHitTarget(calls callSpec) target {
	key := func(w, i int) int { return (w + i) % cacheKeys }
	body := func(b []byte, w, i int) []byte {
		b = fmt.Appendf(b, `{"name":%q,"arguments":`, calls.tool)
		return append(calls.args(b, key(w, i), 0), '}')
	}
	check := func(w, i int, msg []byte) error { return calls.check(key(w, i), 0, msg) }
	return postTarget(cacheHit, s.cacheURL+"/mcp/tools/call", s.token, body, check)
}

// warmCache makes each of the cache-hit reads once, so that the measured
// calls are hits.
func (s *stack) warmCache(ctx context.Context, calls callSpec) error {
	sess, err := s.cacheHitTarget(calls).open(ctx, http.DefaultClient, 0)
	if err != nil {
		return err
	}
	defer sess.close()
	for i := range cacheKeys {
		if err := sess.call(ctx, i); err != nil {
			return fmt.Errorf("warming the cache: %w", err)
		}
	}
	return nil
}
