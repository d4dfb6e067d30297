package gateway_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// staffChat is the Telegram staff group of these tests.
const staffChat = "-1001"

// guard bounds a wait for something the dispatcher must do: it fails a test that would
// otherwise hang; it measures nothing.
const guard = 30 * time.Second

// signal is a Sender that records every send and tells got about it.
type signal struct {
	mu   sync.Mutex
	sent []gateway.Outgoing
	got  chan struct{}
}

func newSignal() *signal { return &signal{got: make(chan struct{}, 10_000)} }

func (s *signal) Send(_ context.Context, out gateway.Outgoing) error {
	s.mu.Lock()
	s.sent = append(s.sent, out)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

// await waits for n more sends.
func (s *signal) await(t *testing.T, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case <-s.got:
		case <-time.After(guard):
			t.Fatalf("%s: %d of %d sends", what, i, n)
		}
	}
}

// blocker is a Sender that holds every send until release is closed, like a Telegram
// group paced at one message every three seconds.
type blocker struct {
	started chan struct{}
	release chan struct{}
}

func (b *blocker) Send(ctx context.Context, _ gateway.Outgoing) error {
	select {
	case b.started <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// passes counts the dispatcher's outbox queries, so a test can wait for the first passes
// to have looked and found nothing.
type passes struct {
	gateway.Outbox
	mu sync.Mutex
	n  int
}

func (p *passes) DueIn(ctx context.Context, now time.Time, l gateway.Lane, limit int) ([]core.Notification, error) {
	list, err := p.Outbox.DueIn(ctx, now, l, limit)
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	return list, err
}

func (p *passes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// queue adds n notifications of one kind to the outbox, due now.
func (d *desk) queue(t *testing.T, n int, tmpl core.Notification) {
	t.Helper()
	err := d.db.Write(ctx, func(tx core.Tx) error {
		for range n {
			m := tmpl
			m.State, m.CreatedAt, m.NextAttemptAt = core.NotificationPending, time.Now(), time.Now()
			if err := tx.AddNotification(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run starts disp.Run until the test ends.
func run(t *testing.T, disp *gateway.Dispatcher) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); disp.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func laneOptions(batch int) gateway.DispatcherOptions {
	return gateway.DispatcherOptions{PollInterval: time.Hour, Batch: batch, StaffChat: staffChat, EmailWorkers: 3,
		Render: gateway.RenderOptions{Address: support, Name: "Helpdesk", Secret: secret}}
}

func TestDispatcher_EmailLeavesWhileStaffChatWaits(t *testing.T) {
	d := newDesk(t)
	out := d.ingest(t, mail("o@x", "ann@customer.test", "s", "b")) // a confirmation and a staff alert by email
	d.queue(t, 100, core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelTelegram, Recipient: staffChat, TicketID: out.TicketID})
	email := newSignal()
	group := &blocker{started: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(group.release)
	run(t, gateway.NewDispatcher(d.db, d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: email, core.ChannelTelegram: group},
		nil, laneOptions(0)))
	select {
	case <-group.started:
	case <-time.After(guard):
		t.Fatal("the staff chat got nothing")
	}
	email.await(t, 2, "email while the staff chat is held")
	if n := d.count(t, `SELECT count(*) FROM notifications WHERE channel = 'telegram' AND state = 'pending'`); n != 100 {
		t.Fatalf("%d staff-chat notifications pending, want all 100 (one in flight)", n)
	}
}

func TestDispatcher_CommitWakesIt(t *testing.T) {
	d := newDesk(t)
	email := newSignal()
	outbox := &passes{Outbox: d.db}
	disp := gateway.NewDispatcher(outbox, d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: email}, nil, laneOptions(0))
	d.db.SetOnQueued(disp.Kick)
	run(t, disp)
	// The first pass of each lane (email, Telegram customers, staff chat) has found nothing;
	// the poll comes in an hour, so only the commit's wake-up can deliver what follows.
	for deadline := time.Now().Add(guard); outbox.count() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lanes never looked at the outbox")
		}
	}
	d.ingest(t, mail("o@x", "ann@customer.test", "s", "b"))
	email.await(t, 2, "after the commit")
}

func TestDispatcher_FullBatchIsFollowedAtOnce(t *testing.T) {
	d := newDesk(t)
	out := d.ingest(t, mail("o@x", "ann@customer.test", "s", "b"))
	d.queue(t, 33, core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelEmail, Recipient: "desk@provider.test", TicketID: out.TicketID})
	email := newSignal()
	// No Kick is wired and the poll is an hour away: 35 with batches of 10 take four passes.
	run(t, gateway.NewDispatcher(d.db, d.db, map[core.Channel]gateway.Sender{core.ChannelEmail: email}, nil, laneOptions(10)))
	email.await(t, 35, "35 due with batches of 10")
	email.mu.Lock()
	defer email.mu.Unlock()
	seen := map[int64]bool{}
	for _, o := range email.sent {
		if seen[o.NotificationID] {
			t.Errorf("notification %d sent twice", o.NotificationID)
		}
		seen[o.NotificationID] = true
	}
}

func TestDueIn_Lanes(t *testing.T) {
	d := newDesk(t)
	out := d.ingest(t, mail("o@x", "ann@customer.test", "s", "b")) // two by email
	tg := core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelTelegram, TicketID: out.TicketID}
	tg.Recipient = "4242"
	d.queue(t, 3, tg)
	tg.Recipient = staffChat
	d.queue(t, 4, tg)
	tests := []struct {
		name string
		lane gateway.Lane
		want int
		to   func(string) bool
	}{
		{"email", gateway.Lane{Channel: core.ChannelEmail}, 2, func(to string) bool { return to != staffChat && to != "4242" }},
		{"telegram customers", gateway.Lane{Channel: core.ChannelTelegram, Recipient: staffChat, Except: true}, 3, func(to string) bool { return to == "4242" }},
		{"telegram staff chat", gateway.Lane{Channel: core.ChannelTelegram, Recipient: staffChat}, 4, func(to string) bool { return to == staffChat }},
		{"all of telegram", gateway.Lane{Channel: core.ChannelTelegram}, 7, func(string) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := d.db.DueIn(ctx, time.Now().Add(time.Second), tt.lane, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tt.want {
				t.Fatalf("%d due, want %d", len(list), tt.want)
			}
			ids := make([]int64, 0, len(list))
			for _, n := range list {
				if n.Channel != tt.lane.Channel || !tt.to(n.Recipient) {
					t.Errorf("notification %d to %s %q in lane %s", n.ID, n.Channel, n.Recipient, tt.name)
				}
				ids = append(ids, n.ID)
			}
			if !slices.IsSorted(ids) {
				t.Errorf("not oldest first: %v", ids)
			}
			// A store shared by several nodes claims what DueIn returns; give it back (an
			// unchanged retry) so that the next lane sees it too.
			for _, n := range list {
				if err := d.db.MarkRetry(ctx, n.ID, n.Attempts, n.NextAttemptAt, n.LastError); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
