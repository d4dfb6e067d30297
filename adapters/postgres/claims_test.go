package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres"
	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// queueNotices queues a pending notice on ch to each of recipients, due at now.
func queueNotices(t *testing.T, db *postgres.DB, ch core.Channel, now time.Time, recipients ...string) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx core.Tx) error {
		for _, to := range recipients {
			n := &core.Notification{Kind: core.NotifyNotice, Channel: ch, Recipient: to, State: core.NotificationPending, NextAttemptAt: now, CreatedAt: now}
			if err := tx.AddNotification(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClaims_OfADeadNodeEndWithItsLiveness: two nodes share an outbox; what one claimed is
// not the other's while the first lives, and is as soon as its liveness lease ends, long
// before the claim itself would: closed (a stop) or expired (a crash, made here by moving
// the lease's end into the past).
func TestClaims_OfADeadNodeEndWithItsLiveness(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	open := func() *postgres.DB { return openOn(t, dsn) }
	a, b, c := open(), open(), open()
	now := time.Now().UTC().Truncate(time.Second)
	queueNotices(t, a, core.ChannelEmail, now, "x@example.com", "y@example.com")
	lane := gateway.Lane{Channel: core.ChannelEmail}
	due := func(db *postgres.DB) int {
		t.Helper()
		list, err := db.DueIn(ctx, now, lane, 1)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	if n := due(a); n != 1 {
		t.Fatalf("a claimed %d", n)
	}
	if n := due(b); n != 1 {
		t.Fatalf("b claimed %d", n)
	}
	if n := due(c); n != 0 {
		t.Fatalf("c took %d claimed by living nodes", n)
	}
	// a stops: its lease is given back, and its claim with it.
	a.Close()
	if n := due(c); n != 1 {
		t.Fatalf("c took %d after a stopped, want a's one", n)
	}
	// b dies without a word: its lease runs out.
	if _, err := b.Pool().Exec(ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = $1`, "node:"+b.Node()); err != nil {
		t.Fatal(err)
	}
	if n := due(c); n != 1 {
		t.Fatalf("c took %d after b died, want b's one", n)
	}
	// c's own claims hold: c is alive.
	if n := due(c); n != 0 {
		t.Fatalf("c took %d of its own claims again", n)
	}
}

// TestClaims_OneChatIsOneNodesAtATime: the staff chat's lane is sent by one node at a time,
// so that its posts arrive in the order they were queued; the other lanes are shared.
func TestClaims_OneChatIsOneNodesAtATime(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	open := func() *postgres.DB { return openOn(t, dsn) }
	a, b := open(), open()
	now := time.Now().UTC().Truncate(time.Second)
	const chat = "-1001"
	queueNotices(t, a, core.ChannelTelegram, now, chat, chat, chat, "42", "43")
	staff := gateway.Lane{Channel: core.ChannelTelegram, Recipient: chat}
	customers := gateway.Lane{Channel: core.ChannelTelegram, Recipient: chat, Except: true}
	due := func(db *postgres.DB, lane gateway.Lane) []int64 {
		t.Helper()
		list, err := db.DueIn(ctx, now, lane, 1)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, n := range list {
			ids = append(ids, n.ID)
		}
		return ids
	}
	first := due(a, staff)
	if len(first) != 1 {
		t.Fatalf("a claimed %v of the staff chat", first)
	}
	if got := due(b, staff); len(got) != 0 {
		t.Fatalf("b claimed %v of the staff chat while a sends to it", got)
	}
	// a's own claims do not hold a back.
	second := due(a, staff)
	if len(second) != 1 || second[0] <= first[0] {
		t.Fatalf("a's second claim %v after %v", second, first)
	}
	// Customers' chats are shared by the nodes as before.
	if x, y := due(a, customers), due(b, customers); len(x) != 1 || len(y) != 1 || x[0] == y[0] {
		t.Fatalf("customers' lane: a %v, b %v, want one each", x, y)
	}
	// Once a's outcomes are in, the chat is free for b, from where a left off.
	if err := a.RecordOutcomes(ctx, []gateway.DeliveryOutcome{{ID: first[0], State: core.NotificationSent, Attempts: 1, At: now},
		{ID: second[0], State: core.NotificationPending, Attempts: 1, Next: now.Add(time.Hour), LastError: "5xx"}}); err != nil {
		t.Fatal(err)
	}
	third := due(b, staff)
	if len(third) != 1 || third[0] <= second[0] {
		t.Fatalf("b claimed %v after a's outcomes, want the third post", third)
	}
	if got := due(a, staff); len(got) != 0 {
		t.Fatalf("a claimed %v of the staff chat while b sends to it", got)
	}
}
