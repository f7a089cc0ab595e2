package cache

import (
	"context"
	"sync"
	"time"
)

// Run removes expired entries every Config.CleanupInterval, follows
// Config.Connected and, with Redis, applies the other instances'
// invalidations, until ctx ends; then it waits for what it started and
// returns nil. The cache works without Run, with expired entries removed
// when read or evicted.
func (c *Cache) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if c.l2 != nil {
		wg.Go(func() {
			c.l2.listen(ctx, c.applyRemote, func() { c.flush(ctx, CauseRemote) })
		})
	}
	if c.cfg.Connected != nil {
		wg.Go(func() { c.followConnection(ctx) })
	}
	t := time.NewTicker(c.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			c.sweep(now)
		}
	}
}

// followConnection pauses caching when Config.Connected turns false.
func (c *Cache) followConnection(ctx context.Context) {
	t := time.NewTicker(c.cfg.ConnectedInterval)
	defer t.Stop()
	was := true
	for {
		up := c.cfg.Connected()
		if was && !up {
			c.Pause()
		}
		was = up
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
