package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestFinishedRoundsAreNotRetained lets the memory of a 2026-07-28 call
// that never asked for input go as soon as it is answered: only a call a
// retry may still look for (in the table, bounded by maxRounds) is kept for
// roundKeep. Every such call (tools/call, prompts/get, resources/read) goes
// through a round, so keeping each one's result for a minute lets a client
// that reads a large resource in a loop grow the heap without bound.
func TestFinishedRoundsAreNotRetained(t *testing.T) {
	h := &Handler{log: zerolog.Nop(), closing: make(chan struct{})}
	big := json.RawMessage(`{"contents":[{"uri":"x","text":"` + strings.Repeat("x", 1<<20) + `"}]}`)
	const calls = 20
	for range calls {
		raw, err := h.roundTrip(t.Context(), nil, "", "", nil, func(context.Context) (json.RawMessage, error) {
			return bytes.Clone(big), nil
		})
		if err != nil || len(raw) < len(big) {
			t.Fatalf("roundTrip: %d bytes, %v", len(raw), err)
		}
	}
	h.wg.Wait()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > uint64(calls*len(big)/2) {
		t.Errorf("heap %d MiB after %d answered calls of %d KiB; want their results freed", ms.HeapAlloc>>20, calls, len(big)>>10)
	}
	if n := len(h.rounds.m); n != 0 {
		t.Errorf("%d rounds in the table; want none (no call asked for input)", n)
	}
}
