package mcphttp

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// toolMirror keeps the children's tools registered on the SDK server. The
// relay answers tools/list and tools/call itself; the registry is there for
// what the SDK does with it: checking a 2026-07-28 request's Mcp-Param
// headers against the tool's x-mcp-header parameters, and telling every
// client when the list changes. It is safe for concurrent use.
type toolMirror struct {
	mu      sync.Mutex // guards fetched, raws
	fetched time.Time
	raws    map[string]string // tool name -> the child's tool object
}

// sync registers l's tools on s, adding and removing only what changed, so
// that clients hear of a change, and only of a real one.
func (m *toolMirror) sync(s *mcp.Server, l bridge.ToolList) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.FetchedAt.Equal(m.fetched) {
		return
	}
	m.fetched = l.FetchedAt
	next := make(map[string]string, len(l.Tools))
	for _, raw := range l.Tools {
		t, err := decodeTool(raw)
		if err != nil {
			continue
		}
		next[t.Name] = string(raw)
		if m.raws[t.Name] == string(raw) {
			continue
		}
		if err := addTool(s, t); err != nil {
			delete(next, t.Name)
		}
	}
	var gone []string
	for name := range m.raws {
		if _, ok := next[name]; !ok {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		s.RemoveTools(gone...)
	}
	m.raws = next
}

// addTool registers t, turning the SDK's panic on a schema it refuses into
// an error: the tool still works through the relay, without header checks.
func addTool(s *mcp.Server, t *mcp.Tool) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("registering tool %q: %v", t.Name, v)
		}
	}()
	s.AddTool(t, unusable)
	return nil
}

// syncTools brings the mirror up to date with the bridge's catalog.
func (h *Handler) syncTools(ctx context.Context) {
	l, err := h.cfg.Core.ListTools(ctx, -1)
	if err != nil {
		return
	}
	h.mu.Lock()
	s := h.server
	h.mu.Unlock()
	if s != nil {
		h.mirror.sync(s, l)
	}
}

// refreshTools fetches the tool list again after a child said it changed,
// off the goroutine that read the child's notification (which a fetch
// through the same child would wait for).
func (h *Handler) refreshTools() {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		h.syncTools(ctx)
	}()
}

// callsTool reports whether r is a 2026-07-28 tools/call, whose Mcp-Param
// headers the SDK checks against the registered tool.
func callsTool(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Mcp-Method") == "tools/call"
}
