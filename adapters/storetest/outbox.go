package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// The outbox as the dispatcher reads and updates it: lanes of due notifications, message
// references, delivery outcomes, and the lists staff read.

// allStates are the states a notification can be in.
var allStates = []core.NotificationState{core.NotificationPending, core.NotificationSent, core.NotificationFailed,
	core.NotificationBounced, core.NotificationCanceled}

// notification finds a notification by ID in the lists of every state.
func (d *desk) notification(t *testing.T, id int64) core.Notification {
	t.Helper()
	for _, s := range allStates {
		list, err := d.store.Notifications(ctx, s, core.MaxListLimit)
		if err != nil {
			t.Fatalf("notifications %s: %v", s, err)
		}
		for _, n := range list {
			if n.ID == id {
				return n
			}
		}
	}
	t.Fatalf("notification %d is in no state's list", id)
	return core.Notification{}
}

// queue adds pending notifications through the port and returns them with their IDs.
func (d *desk) queue(t *testing.T, ns ...core.Notification) []core.Notification {
	t.Helper()
	d.write(t, func(tx core.Tx) error {
		for i := range ns {
			ns[i].State, ns[i].CreatedAt = core.NotificationPending, epoch
			if err := tx.AddNotification(ctx, &ns[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i, n := range ns {
		if n.ID == 0 || (i > 0 && n.ID <= ns[i-1].ID) {
			t.Fatalf("notification IDs %d after %d, want them set and increasing", n.ID, ns[max(i-1, 0)].ID)
		}
	}
	return ns
}

// giveBack records each notification DueIn returned as not attempted: as it was, with the
// claim ended that a store whose outbox nodes share (claimer) took on it, so that the next
// look finds the outbox as if nobody had looked.
func (d *desk) giveBack(t *testing.T, list []core.Notification) {
	t.Helper()
	for _, n := range list {
		if err := d.store.MarkRetry(ctx, n.ID, n.Attempts, n.NextAttemptAt, n.LastError); err != nil {
			t.Fatalf("give notification %d back: %v", n.ID, err)
		}
	}
}

func notificationIDs(list []core.Notification) []int64 {
	out := []int64{}
	for _, n := range list {
		out = append(out, n.ID)
	}
	return out
}

func runOutbox(t *testing.T, open Opener) {
	// outboxDesk queues five notifications about one ticket:
	//	n[0] email to Ann, due at epoch       n[3] email to staff, due an hour later
	//	n[1] Telegram to Ann, due a minute later n[4] email to Ann (status changed), due at epoch
	//	n[2] Telegram to the staff chat, due at epoch
	outboxDesk := func(t *testing.T) (*desk, []core.Notification) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		m := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Done."})
		return d, d.queue(t,
			core.Notification{Kind: core.NotifyStaffReply, Channel: core.ChannelEmail, UserID: 100, Recipient: "ann@acme.example",
				TicketID: tk.ID, MessageID: m.ID, NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyStaffReply, Channel: core.ChannelTelegram, UserID: 100, Recipient: "4242",
				TicketID: tk.ID, MessageID: m.ID, NextAttemptAt: epoch.Add(time.Minute)},
			core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelTelegram, Recipient: "-100", TicketID: tk.ID, NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelEmail, Recipient: "desk@desk.example", TicketID: tk.ID,
				NextAttemptAt: epoch.Add(time.Hour)},
			core.Notification{Kind: core.NotifyStatusChanged, Channel: core.ChannelEmail, UserID: 100, Recipient: "ann@acme.example",
				TicketID: tk.ID, NewStatus: core.StatusResolved, Detail: "detail", InReplyTo: "<in@example.com>", NextAttemptAt: epoch},
		)
	}

	t.Run("DueInLanes", func(t *testing.T) {
		d, n := outboxDesk(t)
		email, tg := core.ChannelEmail, core.ChannelTelegram
		tests := []struct {
			name  string
			now   time.Time
			lane  gateway.Lane
			limit int
			want  []int64
		}{
			{"email due now, oldest first", epoch, gateway.Lane{Channel: email}, 10, []int64{n[0].ID, n[4].ID}},
			{"email an hour later", epoch.Add(time.Hour), gateway.Lane{Channel: email}, 10, []int64{n[0].ID, n[4].ID, n[3].ID}},
			{"email, limited", epoch.Add(time.Hour), gateway.Lane{Channel: email}, 1, []int64{n[0].ID}},
			{"email before anything is due", epoch.Add(-time.Second), gateway.Lane{Channel: email}, 10, []int64{}},
			{"Telegram by due time", epoch.Add(time.Minute), gateway.Lane{Channel: tg}, 10, []int64{n[2].ID, n[1].ID}},
			{"Telegram to one recipient", epoch.Add(time.Minute), gateway.Lane{Channel: tg, Recipient: "-100"}, 10, []int64{n[2].ID}},
			{"Telegram to all others", epoch.Add(time.Minute), gateway.Lane{Channel: tg, Recipient: "-100", Except: true}, 10, []int64{n[1].ID}},
			{"Telegram to all others, none due", epoch, gateway.Lane{Channel: tg, Recipient: "-100", Except: true}, 10, []int64{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, err := d.store.DueIn(ctx, tt.now, tt.lane, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if got := notificationIDs(list); !slices.Equal(got, tt.want) {
					t.Errorf("due %v, want %v", got, tt.want)
				}
				d.giveBack(t, list)
			})
		}
		list, err := d.store.DueIn(ctx, epoch, gateway.Lane{Channel: email}, 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("due email: %v, %v", list, err)
		}
		got, want := list[1], n[4]
		if !got.NextAttemptAt.Equal(want.NextAttemptAt) || !got.CreatedAt.Equal(epoch) || !got.SentAt.IsZero() {
			t.Errorf("times: next %v created %v sent %v; want %v, %v, zero", got.NextAttemptAt, got.CreatedAt, got.SentAt, want.NextAttemptAt, epoch)
		}
		got.NextAttemptAt, got.CreatedAt, want.NextAttemptAt, want.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != want {
			t.Errorf("read back\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("MessageRefs", func(t *testing.T) {
		d, n := outboxDesk(t)
		if err := d.store.SetMessageRef(ctx, n[0].ID, "<n0@desk.example>"); err != nil {
			t.Fatal(err)
		}
		if err := d.store.SetMessageRefs(ctx, map[int64]string{n[1].ID: "<n1@desk.example>", n[3].ID: "<n3@desk.example>"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ref string
			id  int64
		}{{"<n0@desk.example>", n[0].ID}, {"<n1@desk.example>", n[1].ID}, {"<n3@desk.example>", n[3].ID}} {
			got, err := d.store.NotificationByRef(ctx, c.ref)
			if err != nil || got.ID != c.id || got.MessageRef != c.ref || got.State != core.NotificationPending {
				t.Errorf("NotificationByRef(%s): %+v, %v; want notification %d", c.ref, got, err, c.id)
			}
		}
		_, err := d.store.NotificationByRef(ctx, "<unknown@desk.example>")
		wantCode(t, "unknown ref", err, core.ENOTFOUND)
		if got := d.notification(t, n[2].ID); got.MessageRef != "" {
			t.Errorf("notification without a ref has %q", got.MessageRef)
		}
		// The ref survives the delivery, so a reply to the sent mail finds it.
		if err := d.store.MarkSent(ctx, n[0].ID, 1, epoch); err != nil {
			t.Fatal(err)
		}
		if got, err := d.store.NotificationByRef(ctx, "<n0@desk.example>"); err != nil || got.State != core.NotificationSent {
			t.Errorf("sent notification by ref: %+v, %v", got, err)
		}
	})

	t.Run("Outcomes", func(t *testing.T) {
		d, n := outboxDesk(t)
		sentAt, retryAt := epoch.Add(5*time.Minute), epoch.Add(10*time.Minute)
		steps := []struct {
			name string
			do   func() error
		}{
			{"retry n0", func() error { return d.store.MarkRetry(ctx, n[0].ID, 1, retryAt, "timeout") }},
			{"fail n4", func() error { return d.store.MarkFailed(ctx, n[4].ID, 8, "550 no such user") }},
			{"send n2", func() error { return d.store.MarkSent(ctx, n[2].ID, 1, sentAt) }},
			// An outcome for a notification no longer pending changes nothing.
			{"send failed n4", func() error { return d.store.MarkSent(ctx, n[4].ID, 9, sentAt) }},
			{"retry sent n2", func() error { return d.store.MarkRetry(ctx, n[2].ID, 2, retryAt, "late") }},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		type state struct {
			state    core.NotificationState
			attempts int
			next     time.Time
			lastErr  string
			sent     time.Time
		}
		check := func(name string, id int64, want state) {
			t.Helper()
			got := d.notification(t, id)
			if got.State != want.state || got.Attempts != want.attempts || !got.NextAttemptAt.Equal(want.next) ||
				got.LastError != want.lastErr || !got.SentAt.Equal(want.sent) {
				t.Errorf("%s: state %s, %d attempts, next %v, error %q, sent %v; want %+v",
					name, got.State, got.Attempts, got.NextAttemptAt, got.LastError, got.SentAt, want)
			}
		}
		check("retried", n[0].ID, state{core.NotificationPending, 1, retryAt, "timeout", time.Time{}})
		check("failed", n[4].ID, state{core.NotificationFailed, 8, epoch, "550 no such user", time.Time{}})
		check("sent", n[2].ID, state{core.NotificationSent, 1, epoch, "", sentAt})
		due := func(now time.Time) []int64 {
			list, err := d.store.DueIn(ctx, now, gateway.Lane{Channel: core.ChannelEmail}, 10)
			if err != nil {
				t.Fatal(err)
			}
			return notificationIDs(list)
		}
		if got := due(epoch); len(got) != 0 {
			t.Errorf("email due at epoch after the retry and the failure: %v, want none", got)
		}
		if got, want := due(retryAt), []int64{n[0].ID}; !slices.Equal(got, want) {
			t.Errorf("email due at the retry: %v, want %v", got, want)
		}
		// A sent notification clears the error of its failed attempts.
		if err := d.store.MarkSent(ctx, n[0].ID, 2, sentAt); err != nil {
			t.Fatal(err)
		}
		check("sent after a retry", n[0].ID, state{core.NotificationSent, 2, retryAt, "", sentAt})

		// Many outcomes at once, each as its own call would record it.
		err := d.store.RecordOutcomes(ctx, []gateway.DeliveryOutcome{
			{ID: n[1].ID, State: core.NotificationPending, Attempts: 3, Next: retryAt, LastError: "429"},
			{ID: n[3].ID, State: core.NotificationSent, Attempts: 1, At: sentAt},
			{ID: n[2].ID, State: core.NotificationFailed, Attempts: 5, LastError: "too late"},
		})
		if err != nil {
			t.Fatal(err)
		}
		check("retried in a batch", n[1].ID, state{core.NotificationPending, 3, retryAt, "429", time.Time{}})
		check("sent in a batch", n[3].ID, state{core.NotificationSent, 1, epoch.Add(time.Hour), "", sentAt})
		check("sent, then failed in a batch", n[2].ID, state{core.NotificationSent, 1, epoch, "", sentAt})
		// A batch with an outcome that is none records nothing.
		err = d.store.RecordOutcomes(ctx, []gateway.DeliveryOutcome{
			{ID: n[1].ID, State: core.NotificationSent, Attempts: 4, At: sentAt},
			{ID: n[1].ID, State: core.NotificationCanceled, Attempts: 4},
		})
		if err == nil {
			t.Error("RecordOutcomes accepted the state canceled")
		}
		check("after the refused batch", n[1].ID, state{core.NotificationPending, 3, retryAt, "429", time.Time{}})

		// Staff's lists, newest first.
		for _, c := range []struct {
			state core.NotificationState
			limit int
			want  []int64
		}{
			{core.NotificationSent, 10, []int64{n[3].ID, n[2].ID, n[0].ID}},
			{core.NotificationSent, 2, []int64{n[3].ID, n[2].ID}},
			{core.NotificationFailed, 10, []int64{n[4].ID}},
			{core.NotificationPending, 10, []int64{n[1].ID}},
			{core.NotificationBounced, 10, []int64{}},
		} {
			list, err := d.store.Notifications(ctx, c.state, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := notificationIDs(list); !slices.Equal(got, c.want) {
				t.Errorf("Notifications(%s, %d) = %v, want %v", c.state, c.limit, got, c.want)
			}
		}
	})

	t.Run("UseCasesQueueInTheirWrite", func(t *testing.T) {
		d := newDesk(t, open, notifyMail)
		tk := d.ticket(t, d.ann, core.NewTicket{})
		created := d.clock.Now()
		at := d.clock.tick(time.Minute)
		if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: tk.ID}, core.StatusResolved); err != nil {
			t.Fatal(err)
		}
		list, err := d.store.Notifications(ctx, core.NotificationPending, 10)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			kind      core.NotificationKind
			recipient string
			user      int64
			status    core.Status
			at        time.Time
		}
		var got []row
		for _, n := range list {
			if n.TicketID != tk.ID || n.Channel != core.ChannelEmail || !n.NextAttemptAt.Equal(n.CreatedAt) {
				t.Errorf("notification %+v, want email about ticket %d due when queued", n, tk.ID)
			}
			got = append(got, row{n.Kind, n.Recipient, n.UserID, n.NewStatus, n.CreatedAt})
		}
		want := []row{
			{core.NotifyStatusChanged, "ann@acme.example", 100, core.StatusResolved, at},
			{core.NotifyNewTicket, "desk@desk.example", 0, core.StatusOpen, created},
			{core.NotifyTicketCreated, "ann@acme.example", 100, core.StatusOpen, created},
		}
		if len(got) != len(want) {
			t.Fatalf("pending notifications %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].kind != want[i].kind || got[i].recipient != want[i].recipient || got[i].user != want[i].user ||
				got[i].status != want[i].status || !got[i].at.Equal(want[i].at) {
				t.Errorf("notification %d (newest first) %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("TopicPostsKeepTheirStatus", func(t *testing.T) {
		// A staff chat with a topic per ticket gets a ticket_activity for each status
		// change; its new status is stored as a status_changed's is.
		d := newDesk(t, open, core.Options{Notify: core.NotifyOptions{Telegram: true, StaffChatID: -100, StaffThreads: true}})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		for _, st := range []core.Status{core.StatusResolved, core.StatusInProgress} {
			if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: tk.ID}, st); err != nil {
				t.Fatal(err)
			}
		}
		list, err := d.store.Notifications(ctx, core.NotificationPending, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []core.Status
		for _, n := range list {
			if n.Kind != core.NotifyTicketActivity {
				continue
			}
			a, ok := core.ParseActivity(n.Detail)
			if !ok || a.Kind != core.ActivityStatus || a.Actor != d.sam.User.ID || n.Recipient != "-100" || n.TicketID != tk.ID {
				t.Errorf("topic post %+v", n)
			}
			got = append(got, n.NewStatus)
		}
		if want := []core.Status{core.StatusInProgress, core.StatusResolved}; !slices.Equal(got, want) {
			t.Errorf("topic posts' statuses (newest first) %v, want %v", got, want)
		}
	})

	t.Run("HidingCancelsWhatTheCustomerWouldGet", func(t *testing.T) {
		d := newDesk(t, open, notifyMail)
		tk := d.ticket(t, d.ann, core.NewTicket{})
		withdrawn := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Wrong answer."})
		delivered := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Also wrong."})
		fromAnn := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "Rude words."})
		about := func(msgID int64) core.Notification {
			t.Helper()
			list, err := d.store.Notifications(ctx, core.NotificationPending, core.MaxListLimit)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range list {
				if n.MessageID == msgID {
					return n
				}
			}
			t.Fatalf("no pending notification about message %d", msgID)
			return core.Notification{}
		}
		nw, nd, na := about(withdrawn.ID), about(delivered.ID), about(fromAnn.ID)
		if nw.Kind != core.NotifyStaffReply || na.Kind != core.NotifyCustomerReply {
			t.Fatalf("notifications %+v and %+v, want a staff reply and a customer reply", nw, na)
		}
		if err := d.store.MarkSent(ctx, nd.ID, 1, epoch); err != nil {
			t.Fatal(err)
		}
		for _, m := range []int64{withdrawn.ID, delivered.ID, fromAnn.ID} {
			if _, err := d.svc.SetMessageHidden(ctx, d.sam, tk.ID, m, true); err != nil {
				t.Fatal(err)
			}
		}
		if got := d.notification(t, nw.ID); got.State != core.NotificationCanceled {
			t.Errorf("pending reply to the customer: %s after hiding, want canceled", got.State)
		}
		if got := d.notification(t, nd.ID); got.State != core.NotificationSent {
			t.Errorf("sent reply to the customer: %s after hiding, want still sent", got.State)
		}
		// Staff see hidden messages: their alert stays.
		if got := d.notification(t, na.ID); got.State != core.NotificationPending {
			t.Errorf("staff alert: %s after hiding, want still pending", got.State)
		}
	})

	t.Run("ClaimsOfASharedOutbox", func(t *testing.T) { testClaims(t, open) })

	t.Run("TicketOrigins", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		byMail := core.Actor{User: d.ann.User, Channel: core.ChannelEmail}
		mailed := d.ticket(t, byMail, core.NewTicket{Source: &core.Source{Channel: core.ChannelEmail, Key: "<origin@acme.example>"}})
		other := d.ticket(t, d.ann, core.NewTicket{})
		// A reply by mail is no origin.
		d.reply(t, byMail, other.ID, core.NewReply{Body: "more", Source: &core.Source{Channel: core.ChannelEmail, Key: "<reply@acme.example>"}})
		for _, c := range []struct {
			ch   core.Channel
			id   int64
			want string
		}{
			{core.ChannelEmail, mailed.ID, "<origin@acme.example>"},
			{core.ChannelEmail, other.ID, ""},
			{core.ChannelTelegram, mailed.ID, ""},
			{core.ChannelEmail, other.ID + 1, ""},
		} {
			got, err := d.store.TicketOrigin(ctx, c.ch, c.id)
			if err != nil || got != c.want {
				t.Errorf("TicketOrigin(%s, %d) = %q, %v; want %q", c.ch, c.id, got, err, c.want)
			}
		}
		got, err := d.store.TicketOrigins(ctx, core.ChannelEmail, []int64{mailed.ID, other.ID, other.ID + 1})
		if err != nil || len(got) != 1 || got[mailed.ID] != "<origin@acme.example>" {
			t.Errorf("TicketOrigins = %v, %v; want only ticket %d's origin", got, err, mailed.ID)
		}
		got, err = d.store.TicketOrigins(ctx, core.ChannelEmail, nil)
		if err != nil || len(got) != 0 {
			t.Errorf("TicketOrigins of no tickets = %v, %v", got, err)
		}
	})
}

// claimer is an outbox that several daemon nodes share, each running the dispatcher: DueIn
// claims what it returns, until an outcome of it is recorded or ClaimTTL past the now it
// was given, so that no two passes, on one node or on two, send a notification at once. A
// store whose one process delivers its outbox (SQLite) claims nothing.
type claimer interface {
	ClaimTTL() time.Duration
}

// nextDuer is a store that tells when the next notification is due.
type nextDuer interface {
	NextDue(ctx context.Context) (time.Time, error)
}

func testClaims(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	c, ok := d.store.(claimer)
	if !ok {
		t.Skip("the store's DueIn claims nothing: one process delivers its outbox")
	}
	ttl := c.ClaimTTL()
	var queued []core.Notification
	for i := range 40 {
		queued = append(queued, core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail,
			Recipient: "r" + itoaID(int64(i)) + "@example.com", NextAttemptAt: epoch})
	}
	queued = d.queue(t, queued...)
	email := gateway.Lane{Channel: core.ChannelEmail}
	due := func(now time.Time, limit int) []int64 {
		t.Helper()
		list, err := d.store.DueIn(ctx, now, email, limit)
		if err != nil {
			t.Fatal(err)
		}
		return notificationIDs(list)
	}

	// Passes at the same time split the backlog: each takes what no other took.
	var mu sync.Mutex
	var wg sync.WaitGroup
	taken := map[int64]int{}
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			for {
				list, err := d.store.DueIn(ctx, epoch, email, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(list) == 0 {
					return
				}
				mu.Lock()
				for _, n := range list {
					taken[n.ID]++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, n := range queued {
		if taken[n.ID] != 1 {
			t.Errorf("notification %d returned %d times by concurrent passes, want once", n.ID, taken[n.ID])
		}
	}

	// A claim holds for its time, then another pass may take the notification again (a node
	// died mid-send), which claims it anew.
	if got := due(epoch.Add(ttl-time.Second), 100); len(got) != 0 {
		t.Errorf("due while claimed: %v, want none", got)
	}
	again := epoch.Add(ttl + time.Second)
	if got := due(again, 100); len(got) != len(queued) {
		t.Errorf("%d due once the claims expired, want %d", len(got), len(queued))
	}
	if got := due(again, 100); len(got) != 0 {
		t.Errorf("due after the second claim: %v, want none", got)
	}

	// An outcome ends the claim: a sent one is done, a retried one is due at its retry.
	retryAt := again.Add(time.Second)
	if err := d.store.MarkSent(ctx, queued[0].ID, 1, again); err != nil {
		t.Fatal(err)
	}
	if err := d.store.MarkRetry(ctx, queued[1].ID, 1, retryAt, "timeout"); err != nil {
		t.Fatal(err)
	}
	if got, want := due(retryAt, 100), []int64{queued[1].ID}; !slices.Equal(got, want) {
		t.Errorf("due at the retry while the others are claimed: %v, want %v", got, want)
	}

	// What is due next is when the claims expire, not the due times they hide.
	if nd, ok := d.store.(nextDuer); ok {
		next, err := nd.NextDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if expiry := again.Add(ttl); next.Before(expiry) || !next.Before(expiry.Add(time.Second)) {
			t.Errorf("next due %v, want when the first claim expires (%v)", next, expiry)
		}
	}
}
