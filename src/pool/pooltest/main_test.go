package pooltest

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	Main() // the SDK client test runs this binary as a fast child
	os.Exit(m.Run())
}
