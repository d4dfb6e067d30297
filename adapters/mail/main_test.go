package mail

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run if Parse recovered from a panic anywhere: the recover keeps the
// daemon alive, but a panic is a bug to fix.
func TestMain(m *testing.M) {
	code := m.Run()
	if n := recoveredPanics.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: Parse recovered from %d panic(s)\n", n)
		code = 1
	}
	os.Exit(code)
}
