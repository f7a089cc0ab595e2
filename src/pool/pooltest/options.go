package pooltest

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Environment variables that configure the child; [Env] sets them.
const (
	EnvChild            = "MCP_POOLTEST_CHILD" // "1": this process is the child
	envFile             = "MCP_POOLTEST_FILE"
	envName             = "MCP_POOLTEST_NAME"
	envFailInitialize   = "MCP_POOLTEST_FAIL_INITIALIZE"
	envExitAtStart      = "MCP_POOLTEST_EXIT_AT_START"
	envStartDelay       = "MCP_POOLTEST_START_DELAY"
	envIgnoreStdinClose = "MCP_POOLTEST_IGNORE_STDIN_CLOSE"
	envIgnoreSIGTERM    = "MCP_POOLTEST_IGNORE_SIGTERM"
	envGrandchild       = "MCP_POOLTEST_GRANDCHILD"
	envSleeper          = "MCP_POOLTEST_SLEEPER"
	envFast             = "MCP_POOLTEST_FAST"
)

// ChildOptions shape the child's behaviour. The zero value is a
// well-behaved server that records nothing.
type ChildOptions struct {
	// File receives one JSON Event per line (appended; shared by every
	// child given the same path). If empty, nothing is recorded.
	File string
	// Name is the serverInfo name. If empty, "pooltest".
	Name string
	// FailInitialize makes the child answer initialize with error -32603.
	FailInitialize bool
	// ExitAtStart, if non-zero, makes the child exit with this code before
	// reading anything (after StartDelay).
	ExitAtStart int
	// StartDelay makes the child sleep before serving.
	StartDelay time.Duration
	// IgnoreStdinClose keeps the child running after its stdin closes, until
	// a signal ends it.
	IgnoreStdinClose bool
	// IgnoreSIGTERM makes the child ignore SIGTERM (SIGKILL still works).
	IgnoreSIGTERM bool
	// Grandchild makes the child start a sleeping grandchild that shares
	// its stdout and stderr, as npx does with node; its pid is recorded as
	// a "grandchild" event.
	Grandchild bool
	// Fast serves with a small hand-written MCP server instead of go-sdk's:
	// initialize, ping, tools/list and tools/call of echo alone, answered
	// one at a time with pipelined answers written together. It costs a
	// fraction of the SDK's CPU per call, so load tests measure the bridge.
	// File records "started", "initialized" and "call" events;
	// FailInitialize, ExitAtStart, StartDelay, IgnoreStdinClose,
	// IgnoreSIGTERM and Grandchild apply as usual.
	Fast bool
}

// IsChild reports whether this process was started as the test child.
func IsChild() bool { return os.Getenv(EnvChild) == "1" }

// Command returns the argv that starts the child: this executable, plus
// -test.run=^$ inside a test binary so a binary whose TestMain forgot to
// call [Main] runs no tests instead of recursing.
func Command() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	if testing.Testing() {
		return []string{exe, "-test.run=^$"}
	}
	return []string{exe}
}

// Env returns the environment entries (to add to the parent's) that make
// [Command] serve as a child with opts.
func Env(opts ChildOptions) []string {
	env := []string{EnvChild + "=1", envFile + "=" + opts.File, envName + "=" + opts.Name}
	if os.Getenv("GORACE") == "" {
		// A -race child would otherwise sleep 1 s on exit, slowing every stop.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	flag := func(name string, on bool) {
		if on {
			env = append(env, name+"=1")
		}
	}
	flag(envFailInitialize, opts.FailInitialize)
	flag(envIgnoreStdinClose, opts.IgnoreStdinClose)
	flag(envIgnoreSIGTERM, opts.IgnoreSIGTERM)
	flag(envGrandchild, opts.Grandchild)
	flag(envFast, opts.Fast)
	if opts.ExitAtStart != 0 {
		env = append(env, envExitAtStart+"="+strconv.Itoa(opts.ExitAtStart))
	}
	if opts.StartDelay > 0 {
		env = append(env, envStartDelay+"="+opts.StartDelay.String())
	}
	return env
}

// optionsFromEnv is Env in reverse, for the child.
func optionsFromEnv() ChildOptions {
	on := func(name string) bool { return os.Getenv(name) == "1" }
	o := ChildOptions{
		File:             os.Getenv(envFile),
		Name:             os.Getenv(envName),
		FailInitialize:   on(envFailInitialize),
		IgnoreStdinClose: on(envIgnoreStdinClose),
		IgnoreSIGTERM:    on(envIgnoreSIGTERM),
		Grandchild:       on(envGrandchild),
		Fast:             on(envFast),
	}
	o.ExitAtStart, _ = strconv.Atoi(os.Getenv(envExitAtStart))
	o.StartDelay, _ = time.ParseDuration(os.Getenv(envStartDelay))
	if o.Name == "" {
		o.Name = "pooltest"
	}
	return o
}
