package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
)

// run runs l until the returned stop is called; stop waits for Run to
// write what is pending and return.
func run(t *testing.T, l *audit.Log) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func open(t *testing.T, cfg audit.Config) *audit.Log {
	t.Helper()
	l, err := audit.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func entry(i int, who string) audit.Entry {
	return audit.Entry{
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Who:     who,
		Tool:    "call_service",
		Service: "light.turn_on",
		Targets: []string{fmt.Sprintf("light.lamp_%d", i)},
		Outcome: audit.OutcomeOK,
	}
}

// TestReloadAfterRestart: entries written by one run are there, newest
// first, after the next Open.
func TestReloadAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.jsonl")
	l := open(t, audit.Config{Path: path})
	stop := run(t, l)
	var want []audit.Entry
	for i := range 5 {
		e := entry(i, []string{"api-token", "home-assistant", "ha:abc"}[i%3])
		l.Add(e)
		want = append([]audit.Entry{e}, want...)
	}
	if diff := cmp.Diff(want, l.Recent(10)); diff != "" {
		t.Errorf("Recent before restart (-want +got):\n%s", diff)
	}
	stop()

	again := open(t, audit.Config{Path: path})
	if diff := cmp.Diff(want, again.Recent(10)); diff != "" {
		t.Errorf("Recent after restart (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:2], again.Recent(2)); diff != "" {
		t.Errorf("Recent(2) (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode: %v %v, want 0600", fi.Mode(), err)
	}
}

// TestRotationBound: however many entries are written, each file stays
// within MaxBytes, one older file is kept, and the newest entries are
// reloaded.
func TestRotationBound(t *testing.T) {
	const maxBytes = 40000
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l := open(t, audit.Config{Path: path, MaxBytes: maxBytes, Keep: 50})
	stop := run(t, l)
	const n = 2000 // about 10 times what two files hold
	for i := range n {
		l.Add(entry(i, "api-token"))
	}
	stop()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 {
		t.Fatalf("files %v, want audit.jsonl and audit.jsonl.1", files)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.Size() > maxBytes {
			t.Errorf("%s: %d bytes (%v), want at most %d", f, fi.Size(), err, maxBytes)
		}
		// The rotated file was full: the next line did not fit.
		if strings.HasSuffix(f, ".1") && fi.Size() < maxBytes-1000 {
			t.Errorf("%s: %d bytes, want nearly %d", f, fi.Size(), maxBytes)
		}
	}
	again := open(t, audit.Config{Path: path, MaxBytes: maxBytes, Keep: 50})
	got := again.Recent(100)
	if len(got) != 50 {
		t.Fatalf("Recent after restart: %d entries, want Keep = 50", len(got))
	}
	for i, e := range got {
		if want := fmt.Sprintf("light.lamp_%d", n-1-i); e.Targets[0] != want {
			t.Fatalf("entry %d targets %v, want %s", i, e.Targets, want)
		}
	}
}

// TestTruncatedLastLine: a line cut short (a crash mid-write) and a line
// of garbage are skipped at Open, and the next entry is written on a line
// of its own.
func TestTruncatedLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := open(t, audit.Config{Path: path})
	stop := run(t, l)
	l.Add(entry(0, "api-token"))
	l.Add(entry(1, "api-token"))
	stop()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not json\n{\"time\":\"2026-01-02T03:04:05Z\",\"who\":\"api-to")
	f.Close()

	l = open(t, audit.Config{Path: path})
	if got := len(l.Recent(10)); got != 2 {
		t.Fatalf("after a truncated line: %d entries, want 2", got)
	}
	stop = run(t, l)
	l.Add(entry(2, "ha:abc"))
	stop()
	l = open(t, audit.Config{Path: path})
	got := l.Recent(10)
	if len(got) != 3 || got[0].Who != "ha:abc" || got[1].Targets[0] != "light.lamp_1" {
		t.Fatalf("after writing past a truncated line: %+v", got)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), `"api-to{`) {
		t.Errorf("the new entry was glued to the truncated line:\n%s", raw)
	}
}

// TestEntriesBounded: long strings and many targets are cut, so that one
// client cannot make a line (or the memory) large.
func TestEntriesBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := open(t, audit.Config{Path: path})
	e := entry(0, strings.Repeat("w", 10000))
	e.Error = strings.Repeat("é", 10000)
	for i := range 1000 {
		e.Targets = append(e.Targets, fmt.Sprintf("light.%s_%d", strings.Repeat("x", 500), i))
	}
	l.Add(e)
	got := l.Recent(1)[0]
	if len(got.Who) > 100 || len([]rune(got.Error)) > 300 || len(got.Targets) > 20 || got.MoreTargets != 981 {
		t.Errorf("entry not bounded: who %d bytes, error %d runes, %d targets, %d more",
			len(got.Who), len([]rune(got.Error)), len(got.Targets), got.MoreTargets)
	}
	for _, tg := range got.Targets {
		if len(tg) > 100 {
			t.Fatalf("target of %d bytes", len(tg))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []audit.Config{{}, {Path: "x", MaxBytes: 1000}, {Path: "x", Keep: -1}} {
		if _, err := audit.Open(cfg); err == nil {
			t.Errorf("Open(%+v): no error", cfg)
		}
	}
}
