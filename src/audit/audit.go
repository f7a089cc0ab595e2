// Package audit keeps the log of writes: who asked the bridge to change
// what in Home Assistant, when, and how it ended. It is persisted as JSON
// lines in a file of bounded size, rotated to one older file, and
// reloaded at start, so that it survives restarts.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Defaults of Config.
const (
	DefaultMaxBytes = 1 << 20
	DefaultKeep     = 200
	DefaultPending  = 256
)

// Limits on one entry, so that a line stays small whatever a client sends.
const (
	maxText    = 100 // characters of Who, User, Client, Tool, Service and each target
	maxError   = 300 // characters of Error
	maxTargets = 20  // targets listed; more are counted in MoreTargets

	// maxEntryBytes bounds an entry's line: its strings at 6 bytes a
	// character (JSON's \u escapes) and the keys.
	maxEntryBytes = (5*maxText+maxError+maxTargets*maxText)*6 + 512
)

// Outcomes of a write.
const (
	OutcomeOK      = "ok"      // the tool answered a result
	OutcomeError   = "error"   // the tool answered an error (isError): nothing was done
	OutcomeFailed  = "failed"  // the bridge did not run it, or it failed before reaching Home Assistant
	OutcomeUnknown = "unknown" // it was sent and may or may not have been applied
)

// Entry is one write.
type Entry struct {
	Time time.Time `json:"time"`
	// Who made the call: "api-token", "home-assistant" (its MCP
	// integration) or "ha:<user id>" (a Home Assistant user, through
	// Ingress).
	Who string `json:"who"`
	// User is the Home Assistant user's name, when Who is one.
	User string `json:"user,omitempty"`
	// Client is the MCP client's own name for itself (clientInfo.name),
	// when known; clients choose it, so it proves nothing.
	Client      string   `json:"client,omitempty"`
	Tool        string   `json:"tool"`
	Service     string   `json:"service,omitempty"` // "light.turn_on", for call_service
	Targets     []string `json:"targets,omitempty"` // "light.kitchen", "area:kitchen", ...
	MoreTargets int      `json:"more_targets,omitempty"`
	Outcome     string   `json:"outcome"`
	Error       string   `json:"error,omitempty"`
	DurationMS  int64    `json:"duration_ms"`
}

// Config configures a Log. Path is required.
type Config struct {
	// Path is the log file; the rotated one is Path + ".1".
	Path string
	// MaxBytes bounds each of the two files: a line that would take the
	// current file past it moves it to Path.1 (replacing the older one)
	// first. If zero, 1 MiB; so the log takes at most 2 MiB on disk.
	MaxBytes int64
	// Keep is how many of the newest entries Recent can return, kept in
	// memory. If zero, 200. An entry's strings are bounded (a line is at
	// most about 17 KiB, typically 300 bytes), so Keep and Pending bound
	// the memory in bytes.
	Keep int
	// Pending bounds the entries waiting to be written; past it the
	// oldest waiting entry is dropped (and the drop logged). If zero, 256.
	Pending int
	// Logger receives write failures and skipped lines. Zero value: none.
	Logger zerolog.Logger
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("audit: Config.Path is required"))
	}
	if c.MaxBytes < 0 || c.Keep < 0 || c.Pending < 0 {
		errs = append(errs, errors.New("audit: Config limits must not be negative"))
	}
	if c.MaxBytes > 0 && c.MaxBytes < 2*maxEntryBytes {
		errs = append(errs, fmt.Errorf("audit: Config.MaxBytes must be at least %d bytes", 2*maxEntryBytes))
	}
	return errors.Join(errs...)
}

// Log is the audit log. Add records an entry at once in memory and hands
// it to Run, which appends it to the file. Its methods are safe for
// concurrent use.
type Log struct {
	cfg  Config
	log  zerolog.Logger
	wake chan struct{} // signals Run that pending has entries

	mu      sync.Mutex // guards recent, next, pending, dropped
	recent  []Entry    // ring of the newest cfg.Keep entries
	next    int        // where the next entry goes in recent
	full    bool       // recent has wrapped
	pending []Entry
	dropped int

	size int64 // bytes in the current file; owned by the writer (Open, then Run)
}

// Open loads the newest entries of the files at cfg.Path (a missing file
// is an empty log; a line that cannot be read, such as one cut short by a
// crash, is skipped) and returns the log. It creates Path's folder.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Keep == 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Pending == 0 {
		cfg.Pending = DefaultPending
	}
	l := &Log{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), recent: make([]Entry, cfg.Keep)}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	for _, path := range []string{cfg.Path + ".1", cfg.Path} {
		if err := l.load(path); err != nil {
			return nil, fmt.Errorf("audit: reading %s: %w", path, err)
		}
	}
	size, err := trimPartialLine(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l.size = size
	return l, nil
}

// load adds the entries of one file to the ring, oldest first. Only its
// last MaxBytes are read.
func (l *Log) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	skipFirst := false
	if fi.Size() > l.cfg.MaxBytes { // not ours, or a MaxBytes that shrank
		if _, err := f.Seek(fi.Size()-l.cfg.MaxBytes, io.SeekStart); err != nil {
			return err
		}
		skipFirst = true
	}
	r := bufio.NewReader(io.LimitReader(f, l.cfg.MaxBytes))
	bad := 0
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && !skipFirst {
			var e Entry
			if line[len(line)-1] != '\n' || json.Unmarshal(line, &e) != nil || e.Time.IsZero() {
				bad++
			} else {
				l.remember(e)
			}
		}
		skipFirst = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if bad > 0 {
		l.log.Warn().Str("file", path).Int("lines", bad).Msg("audit log: skipped lines that cannot be read")
	}
	return nil
}

// trimPartialLine cuts a last line that has no newline (a write cut short
// by a crash), so that the next entry starts on a line of its own. It
// returns the file's size.
func trimPartialLine(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	buf := make([]byte, 8<<10)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, nil
	}
	return end, f.Truncate(end)
}

// remember adds e to the ring of recent entries. l.mu must be held, or l
// not yet shared.
func (l *Log) remember(e Entry) {
	l.recent[l.next] = e
	l.next = (l.next + 1) % len(l.recent)
	if l.next == 0 {
		l.full = true
	}
}

// Add records e: at once in Recent, and in the file when Run gets to it.
// It does not block on I/O. Strings are cut to bounded lengths.
func (l *Log) Add(e Entry) {
	e = bounded(e)
	l.mu.Lock()
	l.remember(e)
	if len(l.pending) >= l.cfg.Pending {
		l.pending = l.pending[1:]
		l.dropped++
	}
	l.pending = append(l.pending, e)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Recent returns up to n of the newest entries, newest first.
func (l *Log) Recent(n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := l.next
	if l.full {
		count = len(l.recent)
	}
	n = min(max(n, 0), count)
	out := make([]Entry, 0, n)
	for i := range n {
		j := (l.next - 1 - i + len(l.recent)) % len(l.recent)
		out = append(out, l.recent[j])
	}
	return out
}

// Run appends the recorded entries to the file until ctx ends, then
// writes those still waiting and returns. Write failures are logged, not
// returned: the bridge serves on without its audit file.
func (l *Log) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			l.flush()
			return nil
		case <-l.wake:
			l.flush()
		}
	}
}

// flush writes the waiting entries.
func (l *Log) flush() {
	l.mu.Lock()
	batch, dropped := l.pending, l.dropped
	l.pending, l.dropped = nil, 0
	l.mu.Unlock()
	if dropped > 0 {
		l.log.Error().Int("entries", dropped).Msg("audit log: entries dropped, the file could not keep up")
	}
	for _, e := range batch {
		if err := l.write(e); err != nil {
			l.log.Error().Err(err).Str("file", l.cfg.Path).Msg("audit log: cannot write an entry")
		}
	}
}

// write appends one line, rotating first when it would not fit.
func (l *Log) write(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if l.size > 0 && l.size+int64(len(line)) > l.cfg.MaxBytes {
		if err := os.Rename(l.cfg.Path, l.cfg.Path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating: %w", err)
		}
		l.size = 0
	}
	f, err := os.OpenFile(l.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	n, err := f.Write(line)
	l.size += int64(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// bounded cuts e's strings and lists to their limits.
func bounded(e Entry) Entry {
	e.Who, e.User, e.Client = cut(e.Who, maxText), cut(e.User, maxText), cut(e.Client, maxText)
	e.Tool, e.Service, e.Error = cut(e.Tool, maxText), cut(e.Service, maxText), cut(e.Error, maxError)
	if len(e.Targets) > maxTargets {
		e.MoreTargets += len(e.Targets) - maxTargets
		e.Targets = e.Targets[:maxTargets]
	}
	targets := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		targets[i] = cut(t, maxText)
	}
	if len(targets) > 0 {
		e.Targets = targets
	}
	return e
}

// cut returns s cut to at most n characters, valid UTF-8.
func cut(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	return string([]rune(s)[:min(utf8.RuneCountInString(s), n)])
}
