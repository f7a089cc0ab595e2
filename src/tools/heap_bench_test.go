package tools

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// BenchmarkIndexHeap reports the heap one loaded home of 10 000 entities
// keeps (heap-bytes/home): every MCP server process of the add-on holds
// one, so it is most of a process's memory on a large home.
func BenchmarkIndexHeap(b *testing.B) {
	ha := simhome.NewServer(b, simhome.Options{Home: simhome.LargeHome(10000)})
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hc.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	const homes = 3
	var held int64
	for b.Loop() {
		base := heap()
		kept := make([]*home, homes)
		for i := range kept {
			if kept[i], err = loadHome(ctx, hc, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		held = (heap() - base) / homes
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(float64(held), "heap-bytes/home")
}
