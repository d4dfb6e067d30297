package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestRetention_JobRunsUnderItsLeaseOnlyWhenOn: with a [retention] key set the daemon runs
// the retention job under the lease "retention" (shown by /readyz); with both at 0, the
// default, there is no such job.
func TestRetention_JobRunsUnderItsLeaseOnlyWhenOn(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		m := runMain(t, opsConfig(t, t.TempDir(), "HELPDESKD_RETENTION_REJECTED_MAIL_DAYS=30"))
		base := "http://" + m.Addr()
		eventually(t, 10*time.Second, func() error {
			if held, ok := heldLeases(base); !ok || !slices.Contains(held, "retention") {
				return fmt.Errorf("leases %v (answered %v), want retention", held, ok)
			}
			return nil
		})
	})
	t.Run("off by default", func(t *testing.T) {
		m := runMain(t, opsConfig(t, t.TempDir()))
		if parts := m.retentionParts(); len(parts) != 0 {
			t.Fatalf("%d retention parts with retention off", len(parts))
		}
		held, ok := heldLeases("http://" + m.Addr())
		if !ok || slices.Contains(held, "retention") {
			t.Fatalf("leases %v (answered %v), want no retention", held, ok)
		}
	})
}
