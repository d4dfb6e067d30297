package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// What the daemon asks of its store besides the ports, where a store offers it: the
// readiness probe and the outbox's depth for the metrics. A store without them skips.

type pinger interface {
	Ping(ctx context.Context) error
}

type outboxDepther interface {
	OutboxDepth(ctx context.Context) (int, error)
}

func runDaemon(t *testing.T, open Opener) {
	t.Run("Ping", func(t *testing.T) {
		p, ok := open(t).(pinger)
		if !ok {
			t.Skip("the store has no Ping")
		}
		for i := range 2 {
			if err := p.Ping(ctx); err != nil {
				t.Errorf("ping %d: %v", i+1, err)
			}
		}
	})

	t.Run("OutboxDepth", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		o, ok := d.store.(outboxDepther)
		if !ok {
			t.Skip("the store has no OutboxDepth")
		}
		depth := func() int {
			t.Helper()
			n, err := o.OutboxDepth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := depth(); got != 0 {
			t.Errorf("depth of an empty outbox %d", got)
		}
		// Pending counts whether due or not.
		n := d.queue(t,
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "a@example.com", NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelTelegram, Recipient: "42", NextAttemptAt: epoch.Add(time.Hour)},
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "b@example.com", NextAttemptAt: epoch})
		if got := depth(); got != 3 {
			t.Errorf("depth %d, want 3", got)
		}
		if err := d.store.MarkSent(ctx, n[0].ID, 1, epoch); err != nil {
			t.Fatal(err)
		}
		if err := d.store.MarkFailed(ctx, n[1].ID, 8, "no"); err != nil {
			t.Fatal(err)
		}
		if err := d.store.MarkRetry(ctx, n[2].ID, 1, epoch.Add(time.Hour), "later"); err != nil {
			t.Fatal(err)
		}
		if got := depth(); got != 1 {
			t.Errorf("depth %d after one sent, one failed, one retried; want 1", got)
		}
	})
}
