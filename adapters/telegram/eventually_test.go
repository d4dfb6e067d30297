package telegram_test

import (
	"testing"
	"time"
)

// eventually calls check until it returns nil, and fails the test with check's last error when
// that has not happened within wait: a bound for a broken set-up, never a speed assertion.
// The pause between calls grows from a few milliseconds, so a quick condition is seen at once
// and a slow one does not keep the emulator busy.
func eventually(t testing.TB, wait time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	pause := 5 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", wait, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
