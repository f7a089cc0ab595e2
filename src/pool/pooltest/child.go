package pooltest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Main serves MCP on stdio and exits if this process is the test child (see
// [IsChild]); otherwise it returns at once. Call it first in TestMain, or in
// a main function of a helper binary.
func Main() {
	if os.Getenv(envSleeper) == "1" {
		sleepForever()
	}
	if !IsChild() {
		return
	}
	os.Exit(serve(optionsFromEnv()))
}

// sleepForever blocks without tripping the runtime's deadlock detector; a
// signal's default action ends the process.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// child is the state of one child process.
type child struct {
	opts    ChildOptions
	rec     *recorder
	hung    atomic.Bool
	counter atomic.Int64
	// stallUntil (Unix ns) holds back what the child reads until then.
	stallUntil atomic.Int64
	srv        *mcp.Server // set before serving
}

func serve(opts ChildOptions) int {
	if opts.IgnoreSIGTERM {
		signal.Ignore(syscall.SIGTERM)
	}
	c := &child{opts: opts, rec: &recorder{path: opts.File}}
	c.rec.record(Event{Kind: "started"})
	fmt.Fprintf(os.Stderr, "pooltest child %d starting\n", os.Getpid())
	time.Sleep(opts.StartDelay)
	if opts.ExitAtStart != 0 {
		fmt.Fprintf(os.Stderr, "pooltest child %d exiting with %d as asked\n", os.Getpid(), opts.ExitAtStart)
		return opts.ExitAtStart
	}
	if opts.Grandchild {
		c.startGrandchild()
	}
	var err error
	if opts.Fast {
		err = c.serveFast(os.Stdin, os.Stdout)
	} else {
		t := &mcp.IOTransport{Reader: &gateReader{r: os.Stdin, hung: &c.hung, stallUntil: &c.stallUntil}, Writer: nopCloser{os.Stdout}}
		err = c.server().Run(context.Background(), t)
	}
	fmt.Fprintf(os.Stderr, "pooltest child %d: stdin closed (%v)\n", os.Getpid(), err)
	if opts.IgnoreStdinClose {
		sleepForever()
	}
	return 0
}

// startGrandchild starts this executable again as a sleeper that holds the
// child's stdout and stderr.
func (c *child) startGrandchild() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), EnvChild+"=", envSleeper+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if cmd.Start() == nil {
		c.rec.record(Event{Kind: "grandchild", Pid: cmd.Process.Pid})
	}
}

func (c *child) server() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: c.opts.Name, Version: "1.0.0"}, &mcp.ServerOptions{
		Instructions: "pooltest child",
		InitializedHandler: func(context.Context, *mcp.InitializedRequest) {
			c.rec.record(Event{Kind: "initialized"})
		},
		SubscribeHandler: func(_ context.Context, req *mcp.SubscribeRequest) error {
			c.rec.record(Event{Kind: "subscribed", Note: req.Params.URI})
			return nil
		},
		UnsubscribeHandler: func(_ context.Context, req *mcp.UnsubscribeRequest) error {
			c.rec.record(Event{Kind: "unsubscribed", Note: req.Params.URI})
			return nil
		},
	})
	s.AddReceivingMiddleware(c.middleware)
	c.addTools(s)
	s.AddResource(&mcp.Resource{URI: WatchedURI, Name: "watched", MIMEType: "text/plain"},
		func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: WatchedURI, MIMEType: "text/plain", Text: "watched"}}}, nil
		})
	c.srv = s
	return s
}

// WatchedURI is the child's resource that the touch tool updates.
const WatchedURI = "test://watched"

// middleware refuses initialize if asked to, and records cancellations.
func (c *child) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize":
			if c.opts.FailInitialize {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "pooltest: initialize refused as asked"}
			}
		case "notifications/cancelled":
			if p, ok := req.GetParams().(*mcp.CancelledParams); ok {
				c.rec.record(Event{Kind: "cancel_notification", RequestID: p.RequestID, Reason: p.Reason})
			}
		}
		return next(ctx, method, req)
	}
}

// gateReader stops reading for good once hung is set, so the child answers
// nothing more, ping included, and never sees its stdin close. Until
// stallUntil it holds back what it read, so requests (pings included) go
// unanswered for a while and are answered late.
type gateReader struct {
	r          io.Reader
	hung       *atomic.Bool
	stallUntil *atomic.Int64
}

func (g *gateReader) Read(p []byte) (int, error) {
	if g.hung.Load() {
		sleepForever()
	}
	n, err := g.r.Read(p)
	if g.hung.Load() {
		sleepForever()
	}
	if d := time.Until(time.Unix(0, g.stallUntil.Load())); d > 0 {
		time.Sleep(d)
	}
	return n, err
}

func (g *gateReader) Close() error { return nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
