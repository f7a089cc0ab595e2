package mcpconn_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/mcpconn"
	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
)

func TestStopOrder(t *testing.T) {
	tests := []struct {
		name       string
		opts       pooltest.ChildOptions
		stop       time.Duration
		wantStep   string
		wantSignal syscall.Signal // 0: exited normally with status 0
	}{
		{"exits on stdin close", pooltest.ChildOptions{}, 20 * time.Second, "stdin", 0},
		{"ignores stdin close", pooltest.ChildOptions{IgnoreStdinClose: true}, 2 * time.Second, "SIGTERM", syscall.SIGTERM},
		{"ignores SIGTERM", pooltest.ChildOptions{IgnoreStdinClose: true, IgnoreSIGTERM: true}, 200 * time.Millisecond, "SIGKILL", syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cfg := f.config(tt.opts)
			cfg.StopTimeout = tt.stop
			s := f.start(t, cfg)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := s.StoppedBy(); got != tt.wantStep {
				t.Errorf("StoppedBy() = %q, want %q", got, tt.wantStep)
			}
			ws := s.ProcessState().Sys().(syscall.WaitStatus)
			switch {
			case tt.wantSignal == 0 && (ws.Signaled() || ws.ExitStatus() != 0):
				t.Errorf("child ended with %v, want exit status 0", s.ProcessState())
			case tt.wantSignal != 0 && (!ws.Signaled() || ws.Signal() != tt.wantSignal):
				t.Errorf("child ended with %v, want signal %v", s.ProcessState(), tt.wantSignal)
			}
		})
	}
}

func TestGrandchildStopped(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, f.config(pooltest.ChildOptions{Grandchild: true}))
	g := f.waitEvent(t, func(e pooltest.Event) bool { return e.Kind == "grandchild" })
	if pooltest.ProcessGone(g.Pid) {
		t.Fatalf("grandchild %d not running", g.Pid)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pooltest.CheckGone(t, g.Pid)
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(f *fixture) mcpconn.Config
		timeout time.Duration
		check   func(error) bool
		want    string
	}{
		{"command not found", func(*fixture) mcpconn.Config {
			return mcpconn.Config{Command: []string{"mcp-bridge-no-such-command"}}
		}, time.Minute, func(err error) bool { return errors.Is(err, exec.ErrNotFound) }, "executable file not found"},
		{"initialize refused", func(f *fixture) mcpconn.Config {
			return f.config(pooltest.ChildOptions{FailInitialize: true})
		}, time.Minute, func(err error) bool { var re *mcpconn.RPCError; return errors.As(err, &re) }, "initialize refused"},
		{"exits at start", func(f *fixture) mcpconn.Config {
			return f.config(pooltest.ChildOptions{ExitAtStart: 3})
		}, time.Minute, func(err error) bool { return errors.Is(err, mcpconn.ErrSessionLost) }, "exit status 3"},
		{"slow start times out", func(f *fixture) mcpconn.Config {
			return f.config(pooltest.ChildOptions{StartDelay: time.Hour})
		}, 300 * time.Millisecond, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, "deadline"},
		{"empty command", func(*fixture) mcpconn.Config { return mcpconn.Config{} },
			time.Minute, func(err error) bool { return err != nil }, "Command is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cfg := tt.cfg(f)
			cfg.StopTimeout = 200 * time.Millisecond // the slow starter ignores nothing but sleeps
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			s, err := mcpconn.Start(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want an error about %q", err, tt.want)
			}
			f.checkNoOrphans(t)
		})
	}
}
