package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestAutoClose_JobRunsUnderItsLeaseOnlyWhenOn: with [tickets] auto_close_after set the
// daemon runs the auto-close job under the lease "autoclose" (shown by /readyz); unset, the
// default, there is no such job.
func TestAutoClose_JobRunsUnderItsLeaseOnlyWhenOn(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		m := runMain(t, opsConfig(t, t.TempDir(), "HELPDESKD_TICKETS_AUTO_CLOSE_AFTER=14d", "HELPDESKD_TICKETS_AUTO_CLOSE_REMINDER=3d"))
		base := "http://" + m.Addr()
		eventually(t, 10*time.Second, func() error {
			if held, ok := heldLeases(base); !ok || !slices.Contains(held, "autoclose") {
				return fmt.Errorf("leases %v (answered %v), want autoclose", held, ok)
			}
			return nil
		})
	})
	t.Run("off by default", func(t *testing.T) {
		m := runMain(t, opsConfig(t, t.TempDir()))
		if parts := m.autoCloseParts(); len(parts) != 0 {
			t.Fatalf("%d auto-close parts with auto-close off", len(parts))
		}
		held, ok := heldLeases("http://" + m.Addr())
		if !ok || slices.Contains(held, "autoclose") {
			t.Fatalf("leases %v (answered %v), want no autoclose", held, ok)
		}
	})
}
