package audit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
)

// FuzzOpen: whatever the file holds (a crash, another program, a disk
// error), Open reads it without failing, keeps only whole entries, and the
// next entry lands on a line of its own.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-02T03:04:05Z","who":"api-token","tool":"call_service","outcome":"ok","duration_ms":3}` + "\n"))
	f.Add([]byte(`{"time":"2026-01-02T03:04:05Z","who":"api-to`))
	f.Add([]byte("\n\n{}\nnull\n[1]\n\"x\"\n"))
	f.Add([]byte{0xff, 0xfe, '\n', '{'})
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := audit.Open(audit.Config{Path: path})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		for _, e := range l.Recent(audit.DefaultKeep) {
			if e.Time.IsZero() {
				t.Fatalf("an entry without a time was loaded: %+v", e)
			}
		}
		before := len(l.Recent(audit.DefaultKeep))
		stop := run(t, l)
		l.Add(entry(1, "ha:abc"))
		stop()
		again, err := audit.Open(audit.Config{Path: path})
		if err != nil {
			t.Fatalf("Open after Add: %v", err)
		}
		got := again.Recent(audit.DefaultKeep)
		if len(got) != min(before+1, audit.DefaultKeep) || got[0].Who != "ha:abc" {
			t.Fatalf("after Add: %d entries (was %d), newest %+v", len(got), before, got[0])
		}
	})
}
