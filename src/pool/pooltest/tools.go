package pooltest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tools lists the names of the child's tools.
var Tools = []string{"echo", "slow_read", "write", "crash", "hang", "stall", "fail", "counter", "roots", "log", "ask_name", "touch"}

// args holds every tool's arguments; each tool reads the fields it needs.
type args struct {
	Ms       int    `json:"ms"`
	AfterMs  int    `json:"after_ms"`
	EntityID string `json:"entity_id"`
	Note     string `json:"note"`
	Message  string `json:"message"`
}

func objectSchema(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

var (
	intProp = map[string]any{"type": "integer"}
	strProp = map[string]any{"type": "string"}
	yes, no = true, false
)

func (c *child) addTools(s *mcp.Server) {
	add := func(name, desc string, ann *mcp.ToolAnnotations, props map[string]any, h func(context.Context, *mcp.CallToolRequest, args) (*mcp.CallToolResult, error)) {
		tool := &mcp.Tool{Name: name, Description: desc, Annotations: ann, InputSchema: objectSchema(props)}
		s.AddTool(tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var a args
			if len(req.Params.Arguments) > 0 {
				if err := json.Unmarshal(req.Params.Arguments, &a); err != nil {
					return errorResult("bad arguments: " + err.Error()), nil
				}
			}
			c.rec.record(Event{Kind: "call", Tool: name, EntityID: a.EntityID, Note: a.Note})
			return h(ctx, req, a)
		})
	}
	read := &mcp.ToolAnnotations{ReadOnlyHint: true}
	add("echo", "Returns its arguments.", read, map[string]any{}, c.echo)
	add("slow_read", "Sleeps ms milliseconds, sending progress if asked.", read, map[string]any{"ms": intProp, "note": strProp}, c.slowRead)
	add("write", "Records start, sleeps ms, records end.", &mcp.ToolAnnotations{DestructiveHint: &yes},
		map[string]any{"entity_id": strProp, "ms": intProp, "note": strProp}, c.write)
	add("crash", "Exits the process after after_ms milliseconds.", &mcp.ToolAnnotations{DestructiveHint: &no}, map[string]any{"after_ms": intProp}, c.crash)
	add("hang", "Stops answering anything, ping included.", read, map[string]any{}, c.hang)
	add("stall", "Answers, then reads nothing for ms milliseconds (pings go unanswered), then carries on.",
		read, map[string]any{"ms": intProp}, c.stall)
	add("fail", "Returns an isError result.", read, map[string]any{}, c.fail)
	add("counter", "Counts calls per process; returns pid and count.", read, map[string]any{}, c.count)
	add("roots", "Asks the client for roots/list.", read, map[string]any{}, c.roots)
	add("log", "Sends message as notifications/message.", read, map[string]any{"message": strProp}, c.log)
	add("touch", "Sends notifications/resources/updated for "+WatchedURI+" to the sessions subscribed to it.", read, map[string]any{}, c.touch)
	add("ask_name", "Asks the client for a name under the input request key \"user_name\" (an input_required "+
		"result for a 2026-07-28 client, an elicitation request for older ones), then greets it.", read, map[string]any{}, c.askName)
}

func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

func errorResult(text string) *mcp.CallToolResult {
	r := textResult(text)
	r.IsError = true
	return r
}

func (c *child) echo(_ context.Context, req *mcp.CallToolRequest, _ args) (*mcp.CallToolResult, error) {
	raw := req.Params.Arguments
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	r := textResult(string(raw))
	r.StructuredContent = raw
	return r, nil
}

// sleep waits d or until ctx ends, recording a cancellation.
func (c *child) sleep(ctx context.Context, d time.Duration, e Event) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		e.Kind = "cancelled"
		c.rec.record(e)
		return ctx.Err()
	}
}

func (c *child) slowRead(ctx context.Context, req *mcp.CallToolRequest, a args) (*mcp.CallToolResult, error) {
	token := req.Params.GetProgressToken()
	if token != nil {
		req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: 1, Total: 2, Message: "sleeping"})
	}
	if err := c.sleep(ctx, time.Duration(a.Ms)*time.Millisecond, Event{Tool: "slow_read", Note: a.Note}); err != nil {
		return nil, err
	}
	if token != nil {
		req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: 2, Total: 2, Message: "done"})
	}
	return textResult(fmt.Sprintf("slept %dms", a.Ms)), nil
}

func (c *child) write(ctx context.Context, _ *mcp.CallToolRequest, a args) (*mcp.CallToolResult, error) {
	e := Event{Tool: "write", EntityID: a.EntityID, Note: a.Note}
	e.Kind = "start"
	c.rec.record(e)
	if err := c.sleep(ctx, time.Duration(a.Ms)*time.Millisecond, e); err != nil {
		return nil, err
	}
	e.Kind = "end"
	c.rec.record(e)
	return textResult(fmt.Sprintf("wrote %s %s", a.EntityID, a.Note)), nil
}

func (c *child) crash(_ context.Context, _ *mcp.CallToolRequest, a args) (*mcp.CallToolResult, error) {
	c.rec.record(Event{Kind: "crash", Tool: "crash"})
	time.Sleep(time.Duration(a.AfterMs) * time.Millisecond)
	os.Exit(2)
	return nil, nil
}

func (c *child) hang(context.Context, *mcp.CallToolRequest, args) (*mcp.CallToolResult, error) {
	c.rec.record(Event{Kind: "hang", Tool: "hang"})
	c.hung.Store(true)
	sleepForever()
	return nil, nil
}

func (c *child) stall(_ context.Context, _ *mcp.CallToolRequest, a args) (*mcp.CallToolResult, error) {
	c.rec.record(Event{Kind: "stall", Tool: "stall"})
	c.stallUntil.Store(time.Now().Add(time.Duration(a.Ms) * time.Millisecond).UnixNano())
	return textResult("stalling"), nil
}

func (c *child) fail(context.Context, *mcp.CallToolRequest, args) (*mcp.CallToolResult, error) {
	return errorResult("pooltest: failure requested"), nil
}

func (c *child) count(context.Context, *mcp.CallToolRequest, args) (*mcp.CallToolResult, error) {
	out := map[string]int64{"pid": int64(os.Getpid()), "count": c.counter.Add(1)}
	data, _ := json.Marshal(out)
	r := textResult(string(data))
	r.StructuredContent = out
	return r, nil
}

func (c *child) roots(ctx context.Context, req *mcp.CallToolRequest, _ args) (*mcp.CallToolResult, error) {
	res, err := req.Session.ListRoots(ctx, nil)
	if err != nil {
		return errorResult("roots/list: " + err.Error()), nil
	}
	data, _ := json.Marshal(res)
	return textResult(string(data)), nil
}

func (c *child) log(ctx context.Context, req *mcp.CallToolRequest, a args) (*mcp.CallToolResult, error) {
	err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "pooltest", Data: a.Message})
	if err != nil {
		return errorResult("log: " + err.Error()), nil
	}
	return textResult("logged"), nil
}

// askName answers input_required with an elicitation named "user_name"
// until the retry carries its answer. go-sdk's server turns that into an
// elicitation request of its own for a client in the handshake era.
func (c *child) askName(_ context.Context, req *mcp.CallToolRequest, _ args) (*mcp.CallToolResult, error) {
	if r, ok := req.Params.InputResponses["user_name"].(*mcp.ElicitResult); ok && r.Action == "accept" {
		c.rec.record(Event{Kind: "answered", Tool: "ask_name"})
		return textResult(fmt.Sprintf("Hello, %v!", r.Content["name"])), nil
	}
	schema := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{"name": {Type: "string"}}, Required: []string{"name"}}
	return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{
		"user_name": &mcp.ElicitParams{Message: "What is your name?", RequestedSchema: schema},
	}}, nil
}

func (c *child) touch(ctx context.Context, _ *mcp.CallToolRequest, _ args) (*mcp.CallToolResult, error) {
	if err := c.srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: WatchedURI}); err != nil {
		return errorResult("resources/updated: " + err.Error()), nil
	}
	return textResult("touched"), nil
}
