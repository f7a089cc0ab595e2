package queue

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
)

// Issue #9: with one Home Assistant domain's writes hanging, they took
// every slot and everything else queued behind them until it timed out.
func TestGroupKeepsSlotsForOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(t, Config{Concurrency: 4})
		hung := newGate()
		var switches []<-chan result
		for range 4 {
			switches = append(switches, submit(t.Context(), q, Job{Priority: Critical, Write: true, Group: "write:switch", Run: hung.run("s")}))
		}
		if got := q.Stats().Running; got != 3 {
			t.Errorf("%d switch writes running, want 3 (all slots but one)", got)
		}
		light := submit(t.Context(), q, Job{Priority: Medium, Write: true, Group: "write:light", Run: func(context.Context) (json.RawMessage, error) {
			return value("light"), nil
		}})
		read := submit(t.Context(), q, Job{Priority: Low, Run: func(context.Context) (json.RawMessage, error) {
			return value("read"), nil
		}})
		for name, ch := range map[string]<-chan result{"another domain's write": light, "a read": read} {
			if r := recv(t, ch); r.err != nil {
				t.Errorf("%s: %v", name, r.err)
			}
		}
		close(hung.release)
		synctest.Wait()
		for i, ch := range switches {
			if r := recv(t, ch); r.err != nil {
				t.Errorf("switch write %d: %v", i, r.err)
			}
		}
	})
}
