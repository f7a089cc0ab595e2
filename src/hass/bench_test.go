package hass_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

func BenchmarkPing(b *testing.B) {
	srv := simhome.NewServer(b, simhome.Options{})
	cfg := testConfig(b, srv)
	cfg.Logger = zerolog.Nop()
	c := startClient(b, cfg)
	waitConnected(b, c)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Ping(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetStatesLargeHome(b *testing.B) {
	srv := simhome.NewServer(b, simhome.Options{Home: simhome.LargeHome(10000)})
	cfg := testConfig(b, srv)
	cfg.Logger = zerolog.Nop()
	c := startClient(b, cfg)
	waitConnected(b, c)
	for b.Loop() {
		states, err := c.GetStates(b.Context())
		if err != nil || len(states) < 10000 {
			b.Fatalf("GetStates = %d states, %v", len(states), err)
		}
	}
}
