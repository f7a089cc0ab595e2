package main

import (
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
)

// The stop budget. The Supervisor stops an add-on with SIGTERM and kills it
// supervisorStopTimeout later (config.yaml's timeout:, 10 s when unset, as
// here). Every client must be answered and the process exit 0 within it,
// even with calls hung at Home Assistant:
//
//   - calls running at SIGTERM get stopGrace to finish; then the bridge
//     answers their clients (a write that was sent: outcome unknown) and
//     cancels them;
//   - the HTTP server then has until httpStopTimeout to write those
//     answers;
//   - the pool stops each child in the MCP order, waiting childStopStep
//     after closing its stdin and again after SIGTERM before SIGKILL.
//
// TestStopBudget keeps the sum within the Supervisor's timeout.
const (
	supervisorStopTimeout = 10 * time.Second
	stopGrace             = bridge.DefaultStopGrace
	httpStopTimeout       = stopGrace + time.Second
	childStopStep         = 1500 * time.Millisecond
)
