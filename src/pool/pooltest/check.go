package pooltest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ProcessGone reports whether pid no longer runs: it does not exist, or it
// is a zombie (dead, waiting for a parent that is not us to reap it).
func ProcessGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// Format: pid (comm) state ...; comm may hold spaces and parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// CheckGone fails t if any pid is still running now. Use it right after the
// code under test said it stopped its children (Session.Close, Pool.Run
// returning): they must have been reaped already.
func CheckGone(t testing.TB, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if !ProcessGone(pid) {
			t.Errorf("process %d still running", pid)
		}
	}
}

// WaitGone fails t unless every pid is gone within d.
func WaitGone(t testing.TB, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, pid := range pids {
		for !ProcessGone(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d still running", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// NoLeakedGoroutines fails t if, within 10 s, goroutines running code from
// a non-test file whose path contains one of pkgPaths (such as
// "/src/pool/") are still alive. Call it at the end of a test (or register
// it first with t.Cleanup, so it runs last) and don't use t.Parallel in
// that package.
func NoLeakedGoroutines(t testing.TB, pkgPaths ...string) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		leaked = leakedGoroutines(pkgPaths)
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, g := range leaked {
		t.Errorf("leaked goroutine:\n%s", g)
	}
}

func leakedGoroutines(pkgPaths []string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if ownsGoroutine(g, pkgPaths) {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

// ownsGoroutine reports whether stack g runs code from pkgPaths outside
// test files and isn't the test goroutine itself.
func ownsGoroutine(g string, pkgPaths []string) bool {
	if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*T).Run") {
		return false
	}
	for _, line := range strings.Split(g, "\n") {
		line = strings.TrimSpace(line)
		file, _, _ := strings.Cut(line, ":")
		if !strings.HasSuffix(file, ".go") || strings.HasSuffix(file, "_test.go") {
			continue
		}
		for _, p := range pkgPaths {
			if strings.Contains(file, p) {
				return true
			}
		}
	}
	return false
}
