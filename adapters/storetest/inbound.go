package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The inbound pipeline's records: what was applied once, rejected with a bounded number of
// notices, or reported bounced, and how often a sender reopened a ticket.

func runInbound(t *testing.T, open Opener) {
	t.Run("RecordedOncePerChannelAndKey", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		var msgs []core.Message
		d.read(t, func(tx core.ReadTx) (err error) { msgs, err = tx.Messages(ctx, tk.ID, true); return })
		rec := core.InboundRecord{Channel: core.ChannelEmail, Key: "<a@acme.example>", Result: core.InboundTicket, TicketID: tk.ID,
			MessageID: msgs[0].ID, RawHash: "ab12", Sender: "ann@acme.example", Subject: "Help", Reason: "why not", At: epoch}
		record := func(r core.InboundRecord) error {
			return d.store.Write(ctx, func(tx core.Tx) error { return tx.RecordInbound(ctx, &r) })
		}
		if err := record(rec); err != nil {
			t.Fatal(err)
		}
		again := rec
		again.Result, again.At = core.InboundReply, epoch.Add(time.Hour)
		wantCode(t, "the same channel and key again", record(again), core.ECONFLICT)
		onTelegram := core.InboundRecord{Channel: core.ChannelTelegram, Key: rec.Key, Result: core.InboundRejected, At: epoch}
		if err := record(onTelegram); err != nil {
			t.Errorf("the same key on another channel: %v", err)
		}
		got, err := d.store.Inbound(ctx, core.ChannelEmail, rec.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !got.At.Equal(rec.At) {
			t.Errorf("record at %v, want %v", got.At, rec.At)
		}
		got.At, rec.At = time.Time{}, time.Time{}
		if *got != rec {
			t.Errorf("record\n got %+v\nwant %+v", *got, rec)
		}
		if got, err := d.store.Inbound(ctx, core.ChannelTelegram, rec.Key); err != nil || got.Result != core.InboundRejected || got.TicketID != 0 {
			t.Errorf("Telegram record %+v, %v; want rejected, no ticket", got, err)
		}
		_, err = d.store.Inbound(ctx, core.ChannelEmail, "<b@acme.example>")
		wantCode(t, "unknown key", err, core.ENOTFOUND)
	})

	t.Run("AppliedOnceThroughTheService", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		byMail := core.Actor{User: d.ann.User, Channel: core.ChannelEmail}
		src := &core.Source{Channel: core.ChannelEmail, Key: "<once@acme.example>", RawHash: "cd34"}
		tk := d.ticket(t, byMail, core.NewTicket{Source: src})
		_, err := d.svc.CreateTicket(ctx, byMail, core.NewTicket{AccountID: 1, Subject: "Help", Description: "again", Source: src})
		if !core.IsDuplicate(err) {
			t.Errorf("the same mail again: %v, want a duplicate", err)
		}
		_, _, err = d.svc.Reply(ctx, byMail, core.TicketRef{ID: tk.ID}, core.NewReply{Body: "again", Source: src})
		if !core.IsDuplicate(err) {
			t.Errorf("the same mail as a reply: %v, want a duplicate", err)
		}
		var total int
		d.read(t, func(tx core.ReadTx) (err error) {
			_, total, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 20}})
			return
		})
		if got := d.getTicket(t, tk.ID); total != 1 || got.MessageCount != 1 {
			t.Errorf("%d tickets, the first with %d messages; want 1 with 1", total, got.MessageCount)
		}
		rec, err := d.store.Inbound(ctx, core.ChannelEmail, src.Key)
		if err != nil || rec.Result != core.InboundTicket || rec.TicketID != tk.ID || rec.MessageID == 0 || rec.RawHash != "cd34" {
			t.Errorf("record %+v, %v; want ticket %d with its message and raw mail", rec, err, tk.ID)
		}
	})

	t.Run("RejectsAtOnceQueueOneNotice", func(t *testing.T) {
		// Mail from one unknown sender rejected by several workers (or nodes) at once: the
		// day's one notice is queued once, not once per rejection that counted none yet.
		d := newDesk(t, open, core.Options{})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				errs <- d.store.Reject(ctx, core.InboundRecord{Channel: core.ChannelEmail, Key: fmt.Sprintf("<burst%d@example.com>", i),
					Result: core.InboundRejected, Sender: "burst@example.com", Reason: "unknown sender", At: epoch},
					&core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "burst@example.com", Detail: "Unknown."}, 1)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		pending, err := d.store.Notifications(ctx, core.NotificationPending, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pending {
			if p.Recipient == "burst@example.com" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d notices queued for 8 rejections at once, want 1", n)
		}
	})

	t.Run("RejectWithNoticesPerDay", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		notice := func(to string) *core.Notification {
			return &core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: to, Detail: "We could not read your mail.",
				InReplyTo: "<in@example.com>"}
		}
		reject := func(key string, at time.Duration, n *core.Notification, perDay int) error {
			return d.store.Reject(ctx, core.InboundRecord{Channel: core.ChannelEmail, Key: key, Result: core.InboundRejected,
				Sender: "x@example.com", Subject: "spam", Reason: "unknown sender", At: epoch.Add(at)}, n, perDay)
		}
		steps := []struct {
			name    string
			key     string
			at      time.Duration
			notice  *core.Notification
			perDay  int
			wantErr string
		}{
			{"first notice", "<r1@example.com>", 0, notice("x@example.com"), 1, ""},
			{"the same mail again", "<r1@example.com>", time.Minute, notice("x@example.com"), 1, core.ECONFLICT},
			{"over the day's limit: recorded, no notice", "<r2@example.com>", time.Hour, notice("x@example.com"), 1, ""},
			{"another recipient has a limit of their own", "<r3@example.com>", 2 * time.Hour, notice("y@example.com"), 1, ""},
			{"without a notice", "<r4@example.com>", 3 * time.Hour, nil, 1, ""},
			{"a day later", "<r5@example.com>", 25 * time.Hour, notice("x@example.com"), 1, ""},
			{"a higher limit", "<r6@example.com>", 26 * time.Hour, notice("x@example.com"), 2, ""},
			{"the higher limit reached", "<r7@example.com>", 27 * time.Hour, notice("x@example.com"), 2, ""},
		}
		for _, s := range steps {
			wantCode(t, s.name, reject(s.key, s.at, s.notice, s.perDay), s.wantErr)
		}
		list, err := d.store.Notifications(ctx, core.NotificationPending, 100)
		if err != nil {
			t.Fatal(err)
		}
		type sent struct {
			to string
			at time.Duration
		}
		var got []sent
		for _, n := range list {
			if n.Kind != core.NotifyNotice || n.Detail != "We could not read your mail." || n.InReplyTo != "<in@example.com>" ||
				n.Channel != core.ChannelEmail || !n.NextAttemptAt.Equal(n.CreatedAt) {
				t.Errorf("notice %+v", n)
			}
			got = append(got, sent{n.Recipient, n.CreatedAt.Sub(epoch)})
		}
		want := []sent{{"x@example.com", 26 * time.Hour}, {"x@example.com", 25 * time.Hour}, {"y@example.com", 2 * time.Hour}, {"x@example.com", 0}}
		if !slices.Equal(got, want) {
			t.Errorf("notices (newest first) %v, want %v", got, want)
		}
		recs, err := d.store.InboundByResult(ctx, core.InboundRejected, 100)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range recs {
			keys = append(keys, r.Key)
		}
		if want := []string{"<r7@example.com>", "<r6@example.com>", "<r5@example.com>", "<r4@example.com>", "<r3@example.com>",
			"<r2@example.com>", "<r1@example.com>"}; !slices.Equal(keys, want) {
			t.Errorf("rejected, newest first: %v, want %v", keys, want)
		}
		if r := recs[len(recs)-1]; r.Sender != "x@example.com" || r.Reason != "unknown sender" || !r.At.Equal(epoch) || r.Channel != core.ChannelEmail {
			t.Errorf("first rejected record %+v", r)
		}
		recs, err = d.store.InboundByResult(ctx, core.InboundRejected, 2)
		if err != nil || len(recs) != 2 || recs[0].Key != "<r7@example.com>" {
			t.Errorf("rejected, limit 2: %+v, %v", recs, err)
		}
		recs, err = d.store.InboundByResult(ctx, core.InboundFailed, 10)
		if err != nil || len(recs) != 0 {
			t.Errorf("failed: %+v, %v; want none", recs, err)
		}
	})

	t.Run("MarkBounced", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		n := d.queue(t, core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "gone@example.com", NextAttemptAt: epoch})[0]
		if err := d.store.MarkSent(ctx, n.ID, 1, epoch); err != nil {
			t.Fatal(err)
		}
		report := core.InboundRecord{Channel: core.ChannelEmail, Key: "<dsn@mx.example>", Result: core.InboundBounce,
			Sender: "mailer-daemon@mx.example", Reason: "550 no such user", At: epoch.Add(time.Minute)}
		if err := d.store.MarkBounced(ctx, n.ID, "550 no such user", report); err != nil {
			t.Fatal(err)
		}
		if got := d.notification(t, n.ID); got.State != core.NotificationBounced || got.LastError != "550 no such user" {
			t.Errorf("notification %+v, want bounced with the reason", got)
		}
		wantCode(t, "the same report again", d.store.MarkBounced(ctx, n.ID, "other", report), core.ECONFLICT)
		if got := d.notification(t, n.ID); got.LastError != "550 no such user" {
			t.Errorf("a repeated report changed the reason to %q", got.LastError)
		}
		// A late outcome of the delivery leaves it bounced.
		if err := d.store.MarkFailed(ctx, n.ID, 2, "late"); err != nil {
			t.Fatal(err)
		}
		if got := d.notification(t, n.ID); got.State != core.NotificationBounced {
			t.Errorf("state %s after a late failure, want bounced", got.State)
		}
		recs, err := d.store.InboundByResult(ctx, core.InboundBounce, 10)
		if err != nil || len(recs) != 1 || recs[0].Key != report.Key || recs[0].Sender != report.Sender {
			t.Errorf("bounce reports %+v, %v", recs, err)
		}
		list, err := d.store.Notifications(ctx, core.NotificationBounced, 10)
		if err != nil || len(list) != 1 || list[0].ID != n.ID {
			t.Errorf("bounced notifications %v, %v", notificationIDs(list), err)
		}
	})

	t.Run("Reopenings", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		other := d.ticket(t, d.ann, core.NewTicket{})
		start := d.clock.Now()
		cycle := func(id int64, who core.Actor) time.Time {
			t.Helper()
			d.clock.tick(time.Minute)
			if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: id}, core.StatusResolved); err != nil {
				t.Fatal(err)
			}
			d.reply(t, who, id, core.NewReply{Body: "Not fixed."})
			return d.clock.Now()
		}
		first := cycle(tk.ID, d.ann)
		cycle(tk.ID, d.ann)
		cycle(tk.ID, core.Actor{User: d.cat.User, Channel: core.ChannelAPI})
		cycle(other.ID, d.ann)
		for _, c := range []struct {
			name   string
			ticket int64
			user   int64
			since  time.Time
			want   int
		}{
			{"all of Ann's", tk.ID, 100, start, 2},
			{"since the first", tk.ID, 100, first, 1},
			{"Cat's", tk.ID, 300, start, 1},
			{"the staff user who resolved it", tk.ID, 900, start, 0},
			{"another ticket", other.ID, 100, start, 1},
			{"none after the last", tk.ID, 100, d.clock.tick(time.Hour), 0},
		} {
			got, err := d.store.Reopenings(ctx, c.ticket, c.user, c.since)
			if err != nil || got != c.want {
				t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
			}
		}
	})
}
