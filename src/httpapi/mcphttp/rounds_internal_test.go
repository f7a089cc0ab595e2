package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
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

// TestEndedRoundAsksNoMore answers a retry of a call that ended while it
// waited for its client's input (its own timeout, its child lost) with
// how it ended: it must not ask the client, a person perhaps, again for
// input that no one can take any more.
func TestEndedRoundAsksNoMore(t *testing.T) {
	h := &Handler{log: zerolog.Nop(), closing: make(chan struct{}), cfg: Config{InputTimeout: time.Hour}}
	end := make(chan struct{})
	run := func(ctx context.Context) (json.RawMessage, error) {
		go mcpconn.HandlersFrom(ctx).Request(ctx, "elicitation/create", json.RawMessage(`{"message":"name?"}`))
		<-end
		return nil, errors.New("the call timed out")
	}
	raw, err := h.roundTrip(t.Context(), nil, "", "", nil, run)
	if err != nil {
		t.Fatal(err)
	}
	var ir struct {
		ResultType   string `json:"resultType"`
		RequestState string `json:"requestState"`
	}
	if err := json.Unmarshal(raw, &ir); err != nil || ir.ResultType != "input_required" {
		t.Fatalf("first answer %s (%v); want input_required", raw, err)
	}
	r := h.rounds.get(ir.RequestState)
	if r == nil {
		t.Fatal("the parked call is not in the table")
	}
	close(end)
	<-r.done
	raw, err = h.roundTrip(t.Context(), nil, "", ir.RequestState, nil, run)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("a retry after the call ended got %s, %v; want the call's error", raw, err)
	}
	h.wg.Wait()
}
