// Package pooltest provides a real MCP server for tests: the test binary
// re-executes itself as a stdio MCP child built on go-sdk's mcp.Server.
//
// Use it from any package's tests:
//
//	func TestMain(m *testing.M) {
//		pooltest.Main() // serves MCP and exits when started as the child
//		os.Exit(m.Run())
//	}
//
//	cmd := pooltest.Command()                           // argv for the child
//	env := pooltest.Env(pooltest.ChildOptions{File: f}) // its extra environment
//
// The child's tools (see [Tools]) cover what a pool and a bridge must
// handle: echo (read-only), slow_read, write (destructive, records start and
// end to the events file), crash (exits mid-call), hang (stops answering
// everything, ping included), fail (isError result), counter (names the
// answering process), roots (asks the client for roots/list) and log (sends
// notifications/message). [ChildOptions] make a child that fails
// initialize, exits at once, starts slowly, ignores stdin close or SIGTERM,
// or spawns a grandchild. ChildOptions.Fast swaps go-sdk's server for a
// small hand-written one (echo only, pipelined answers written together)
// whose cost per call is low enough for load tests to measure the bridge. The child appends JSON [Event] lines to
// ChildOptions.File so tests can check order, overlap, exactly-once
// execution, received cancellations and which processes ever ran;
// [ReadEvents] parses them, and [ProcessGone] and [NoLeakedGoroutines]
// check that nothing outlived a test.
package pooltest
