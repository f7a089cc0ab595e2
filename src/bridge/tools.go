package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"
)

// maxToolPages bounds how many tools/list pages one refresh walks, so that a
// child answering an endless cursor chain cannot hang the bridge.
const maxToolPages = 100

// ToolList is the children's tools/list answer as the bridge caches it.
type ToolList struct {
	// Tools are the tool objects exactly as the child sent them (schemas
	// byte-exact).
	Tools []json.RawMessage
	// FetchedAt is when the list was fetched; Expires when it will be
	// fetched again.
	FetchedAt, Expires time.Time
	// Cached reports that the list came from the cache rather than from a
	// fetch made for this request.
	Cached bool
}

// toolInfo is what the bridge needs to know about one tool.
type toolInfo struct {
	readOnly bool // annotations.readOnlyHint
}

// catalog caches the children's tools. Its methods are safe for concurrent
// use; concurrent refreshes share one tools/list.
type catalog struct {
	exec       Executor
	ttl        time.Duration
	refreshMin time.Duration
	timeout    time.Duration
	log        zerolog.Logger

	group singleflight.Group

	mu      sync.Mutex // guards list, byName, lastTry
	list    ToolList
	byName  map[string]toolInfo
	lastTry time.Time // last refresh attempt, successful or not
}

// tool returns what is known of name, refreshing the list when it is stale
// or does not know name (at most once per refreshMin for unknown names).
// known returns a tool of the current list without waiting: ok is false
// when the tool is unknown or the list is due for a refresh.
func (c *catalog) known(name string) (toolInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.byName[name]
	return info, ok && time.Now().Before(c.list.Expires)
}

func (c *catalog) tool(ctx context.Context, name string) (toolInfo, error) {
	c.mu.Lock()
	info, known := c.byName[name]
	fresh := c.byName != nil && time.Now().Before(c.list.Expires)
	mayRetry := time.Since(c.lastTry) >= c.refreshMin
	c.mu.Unlock()
	switch {
	case known && (fresh || !mayRetry):
		return info, nil // stale but recently tried: do not stall calls on a failing refresh
	case !known && fresh && !mayRetry:
		return toolInfo{}, fmt.Errorf("%w: %q", ErrUnknownTool, name)
	}
	if _, err := c.refresh(ctx); err != nil {
		if known { // stale but usable: a failed refresh must not fail calls
			return info, nil
		}
		return toolInfo{}, err
	}
	c.mu.Lock()
	info, known = c.byName[name]
	c.mu.Unlock()
	if !known {
		return toolInfo{}, fmt.Errorf("%w: %q", ErrUnknownTool, name)
	}
	return info, nil
}

// tools returns the list, refreshing it when older than maxAge (negative
// maxAge: only when expired).
func (c *catalog) tools(ctx context.Context, maxAge time.Duration) (ToolList, error) {
	c.mu.Lock()
	l := c.list
	have := c.byName != nil
	c.mu.Unlock()
	now := time.Now()
	if have && now.Before(l.Expires) && (maxAge < 0 || now.Sub(l.FetchedAt) <= maxAge) {
		l.Cached = true
		return l, nil
	}
	fetched, err := c.refresh(ctx)
	if err != nil {
		if have {
			l.Cached = true
			return l, nil
		}
		return ToolList{}, err
	}
	return fetched, nil
}

// invalidate makes the next lookup fetch the list again.
func (c *catalog) invalidate() {
	c.mu.Lock()
	c.list.Expires = time.Time{}
	c.mu.Unlock()
}

// refresh fetches the list once for every concurrent caller. The fetch does
// not use a caller's ctx, so one caller giving up does not fail the others;
// each caller waits at most as long as its ctx allows.
func (c *catalog) refresh(ctx context.Context) (ToolList, error) {
	ch := c.group.DoChan("tools/list", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		c.mu.Lock()
		c.lastTry = time.Now()
		c.mu.Unlock()
		return c.fetch(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return ToolList{}, r.Err
		}
		return r.Val.(ToolList), nil
	case <-ctx.Done():
		return ToolList{}, fmt.Errorf("bridge: waiting for tools/list: %w", ctx.Err())
	}
}

// fetch walks every tools/list page and installs the result.
func (c *catalog) fetch(ctx context.Context) (ToolList, error) {
	var raws []json.RawMessage
	byName := make(map[string]toolInfo)
	cursor := ""
	for page := 0; ; page++ {
		if page == maxToolPages {
			return ToolList{}, fmt.Errorf("%w: tools/list has more than %d pages", ErrUnavailable, maxToolPages)
		}
		next, err := c.fetchPage(ctx, cursor, &raws, byName)
		if err != nil {
			return ToolList{}, err
		}
		if next == "" {
			break
		}
		cursor = next
	}
	now := time.Now()
	l := ToolList{Tools: raws, FetchedAt: now, Expires: now.Add(c.ttl)}
	c.mu.Lock()
	c.list, c.byName = l, byName
	c.mu.Unlock()
	return l, nil
}

func (c *catalog) fetchPage(ctx context.Context, cursor string, raws *[]json.RawMessage, byName map[string]toolInfo) (string, error) {
	params := json.RawMessage(`{}`)
	if cursor != "" {
		params, _ = json.Marshal(map[string]string{"cursor": cursor})
	}
	raw, err := c.exec.Call(ctx, "tools/list", params)
	if err != nil {
		return "", fmt.Errorf("bridge: tools/list: %w", err)
	}
	var res struct {
		Tools      []json.RawMessage `json:"tools"`
		NextCursor string            `json:"nextCursor"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return "", fmt.Errorf("%w: decoding tools/list: %w", ErrUnavailable, err)
	}
	for _, t := range res.Tools {
		name, info, err := parseTool(t)
		if err != nil { // uncallable through the bridge anyway; keep the others
			c.log.Warn().Err(err).Msg("skipping a tool from tools/list")
			continue
		}
		if _, dup := byName[name]; dup {
			continue // first wins, as in the child's order
		}
		byName[name] = info
		*raws = append(*raws, t)
	}
	return res.NextCursor, nil
}

// parseTool reads the name and read-only hint of one tool object.
func parseTool(raw json.RawMessage) (string, toolInfo, error) {
	var t struct {
		Name        string `json:"name"`
		Annotations *struct {
			ReadOnlyHint bool `json:"readOnlyHint"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", toolInfo{}, fmt.Errorf("decoding a tool: %w", err)
	}
	if err := checkToolName(t.Name); err != nil {
		return "", toolInfo{}, err
	}
	return t.Name, toolInfo{readOnly: t.Annotations != nil && t.Annotations.ReadOnlyHint}, nil
}

// checkToolName applies MCP's tool-name guidance (2025-11-25): 1 to 128
// characters from [A-Za-z0-9_.-]. Names are metric-label-safe because of it.
func checkToolName(name string) error {
	if name == "" || len(name) > 128 {
		return errors.New("tool name must be 1 to 128 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("tool name %q has a character outside [A-Za-z0-9_.-]", name)
		}
	}
	return nil
}
