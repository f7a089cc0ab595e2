package pooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEnvRoundTrip(t *testing.T) {
	want := ChildOptions{File: "/tmp/x", Name: "n", FailInitialize: true, ExitAtStart: 4, StartDelay: 2 * time.Second,
		IgnoreStdinClose: true, IgnoreSIGTERM: true, Grandchild: true, Fast: true}
	for _, kv := range Env(want) {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	if !IsChild() {
		t.Error("IsChild() = false with Env set")
	}
	if diff := cmp.Diff(want, optionsFromEnv()); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func cutEnv(kv string) (string, string, bool) {
	for i := range kv {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func TestEventsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events")
	r := &recorder{path: path}
	r.record(Event{Kind: "start", EntityID: "light.a", Note: "n1"})
	r.record(Event{Kind: "end", EntityID: "light.a", Note: "n1"})
	r.record(Event{Kind: "grandchild", Pid: 42})
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"torn`) // a line being written right now
	f.Close()
	events, err := ReadEvents(path)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]string{"start", "end", "grandchild"}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if got := Pids(events, "grandchild"); len(got) != 1 || got[0] != 42 {
		t.Errorf("Pids(grandchild) = %v, want [42]", got)
	}
	if got := Pids(events, "start"); len(got) != 1 || got[0] != os.Getpid() {
		t.Errorf("Pids(start) = %v, want our pid", got)
	}
	if events, err := ReadEvents(filepath.Join(t.TempDir(), "missing")); err != nil || events != nil {
		t.Errorf("missing file: %v, %v", events, err)
	}
}

func TestProcessGone(t *testing.T) {
	if ProcessGone(os.Getpid()) {
		t.Error("ProcessGone(self) = true")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	if !ProcessGone(cmd.Process.Pid) {
		t.Errorf("ProcessGone(%d) = false for a reaped process", cmd.Process.Pid)
	}
}

// FuzzReadEvents: any file content parses without panicking.
func FuzzReadEvents(f *testing.F) {
	f.Add([]byte(`{"kind":"start","pid":1,"note":"x"}` + "\n" + `{"kind":`))
	f.Add([]byte("\n\n{}\n[]\nnull\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "events")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		events, _ := ReadEvents(path)
		Pids(events, "start")
	})
}
