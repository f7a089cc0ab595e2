package pooltest

import (
	"context"
	"encoding/json"
)

// Caller sends one JSON-RPC request and returns its raw result; an
// *mcpconn.Session and a *pool.Pool both are.
type Caller interface {
	Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
}

// ToolResult is the part of a CallToolResult that tests look at.
type ToolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

// Text returns the first content block's text, or "" without one.
func (r ToolResult) Text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

// CallTool calls tools/call on c and parses the result.
func CallTool(ctx context.Context, c Caller, name string, args any) (ToolResult, error) {
	params, err := json.Marshal(map[string]any{"name": name, "arguments": args})
	if err != nil {
		return ToolResult{}, err
	}
	raw, err := c.Call(ctx, "tools/call", params)
	if err != nil {
		return ToolResult{}, err
	}
	var r ToolResult
	err = json.Unmarshal(raw, &r)
	return r, err
}
