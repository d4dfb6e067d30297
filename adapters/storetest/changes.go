package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// The change log and the webhooks: changes written with their deliveries in one
// transaction, the feed and its filters, the delivery port (due, outcomes, disabling), and
// the changes the stores write themselves (a notification given up, a mail rejected).

func runChanges(t *testing.T, open Opener) {
	t.Run("Webhooks", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		a := d.createWebhook(t, "https://panel.example/a", core.ChangeMessageCreated, core.ChangeTicketCreated)
		b := d.createWebhook(t, "https://panel.example/b", core.ChangeNotificationFailed)
		if b.ID <= a.ID {
			t.Errorf("webhook IDs %d after %d, want increasing", b.ID, a.ID)
		}
		got := d.webhook(t, a.ID)
		if got.URL != a.URL || got.Secret != a.Secret || !got.CreatedAt.Equal(epoch) || got.Disabled || got.DisabledReason != "" ||
			!got.FailingSince.IsZero() || !slices.Equal(got.Events, a.Events) {
			t.Errorf("webhook read back %+v, want %+v", *got, a)
		}
		var all []core.Webhook
		d.read(t, func(tx core.ReadTx) (err error) { all, err = tx.Webhooks(ctx); return })
		if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID || all[1].Secret != b.Secret ||
			!slices.Equal(all[1].Events, []core.ChangeType{core.ChangeNotificationFailed}) {
			t.Errorf("webhooks %+v, want a and b by ID with secrets and events", all)
		}
		d.read(t, func(tx core.ReadTx) error {
			_, err := tx.Webhook(ctx, b.ID+100)
			wantCode(t, "unknown webhook", err, core.ENOTFOUND)
			return nil
		})

		did, err := d.store.DisableWebhook(ctx, a.ID, "failing for 72h")
		if err != nil || !did {
			t.Errorf("disable: %v, %v; want true", did, err)
		}
		did, err = d.store.DisableWebhook(ctx, a.ID, "again")
		if err != nil || did {
			t.Errorf("disable a disabled webhook: %v, %v; want false", did, err)
		}
		did, err = d.store.DisableWebhook(ctx, b.ID+100, "gone")
		if err != nil || did {
			t.Errorf("disable an unknown webhook: %v, %v; want false", did, err)
		}
		if got := d.webhook(t, a.ID); !got.Disabled || got.DisabledReason != "failing for 72h" {
			t.Errorf("disabled webhook %+v, want disabled with the first reason", *got)
		}

		wantCode(t, "delete an unknown webhook", d.store.Write(ctx, func(tx core.Tx) error { return tx.DeleteWebhook(ctx, b.ID+100) }), core.ENOTFOUND)
		d.write(t, func(tx core.Tx) error { return tx.DeleteWebhook(ctx, a.ID) })
		wantCode(t, "delete it again", d.store.Write(ctx, func(tx core.Tx) error { return tx.DeleteWebhook(ctx, a.ID) }), core.ENOTFOUND)
		d.read(t, func(tx core.ReadTx) (err error) { all, err = tx.Webhooks(ctx); return })
		if len(all) != 1 || all[0].ID != b.ID {
			t.Errorf("webhooks after the delete %+v, want b alone", all)
		}
		var none []core.Webhook
		d.write(t, func(tx core.Tx) error { return tx.DeleteWebhook(ctx, b.ID) })
		d.read(t, func(tx core.ReadTx) (err error) { none, err = tx.Webhooks(ctx); return })
		if none == nil || len(none) != 0 {
			t.Errorf("no webhooks: %#v, want an empty list", none)
		}
	})

	t.Run("ChangeRoundTrip", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		in := []core.Change{
			{Type: core.ChangeTicketStatusChanged, AccountID: 1, TicketID: 5, From: core.StatusOpen, To: core.StatusResolved},
			{Type: core.ChangeTicketAssigned, AccountID: 2, TicketID: 6, AssigneeUserID: 900, DepartmentID: 7},
			{Type: core.ChangeMessageCreated, AccountID: 1, TicketID: 5, MessageID: 12, Internal: true},
			{Type: core.ChangeInboundRejected, Detail: "email <x@example.com>: unknown sender"},
			{Type: core.ChangeTicketCreated, AccountID: 2, TicketID: 8, MessageID: 13, Detail: "split from #6"},
		}
		var added []core.Change
		for _, c := range in {
			added = append(added, d.addChange(t, c))
		}
		for i := 1; i < len(added); i++ {
			if added[i].ID <= added[i-1].ID {
				t.Fatalf("change IDs %d after %d, want increasing", added[i].ID, added[i-1].ID)
			}
		}
		all := d.changes(t, core.ChangeFilter{Limit: 100})
		if len(all) != len(added) {
			t.Fatalf("%d changes, want %d", len(all), len(added))
		}
		seq := make([]int64, len(all))
		for i := range all {
			seq[i] = all[i].Seq
			// Seq is the store's to give: in commit order, which is the order of these
			// writes, one after the other.
			if all[i].Seq <= 0 || (i > 0 && all[i].Seq <= all[i-1].Seq) {
				t.Errorf("change %d: feed position %d, want positive and increasing", i, all[i].Seq)
			}
			if !sameChange(all[i], added[i]) {
				t.Errorf("change %d read back\n got %+v\nwant %+v", i, all[i], added[i])
			}
		}
		id := func(i ...int) []int64 {
			out := []int64{}
			for _, j := range i {
				out = append(out, added[j].ID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    core.ChangeFilter
			want []int64
		}{
			{"all", core.ChangeFilter{}, id(0, 1, 2, 3, 4)},
			{"after the first", core.ChangeFilter{After: seq[0], Limit: 100}, id(1, 2, 3, 4)},
			{"a page", core.ChangeFilter{After: seq[0], Limit: 2}, id(1, 2)},
			{"the next page", core.ChangeFilter{After: seq[2], Limit: 2}, id(3, 4)},
			{"after the last", core.ChangeFilter{After: seq[4], Limit: 2}, id()},
			{"account 1", core.ChangeFilter{AccountID: 1, Limit: 100}, id(0, 2)},
			{"account 2, after its first", core.ChangeFilter{AccountID: 2, After: seq[1], Limit: 100}, id(4)},
			{"public", core.ChangeFilter{Public: true, Limit: 100}, id(0, 4)},
			{"public of account 2", core.ChangeFilter{Public: true, AccountID: 2, Limit: 100}, id(4)},
		} {
			if got := changeIDs(d.changes(t, c.f)); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if got := d.changes(t, core.ChangeFilter{After: seq[4], Limit: 10}); got == nil {
			t.Error("no changes: nil, want an empty list")
		}
	})

	t.Run("PublicFeed", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		other := d.ticket(t, d.bob, core.NewTicket{})
		public := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Looking into it."})
		note := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Customer is on the old plan.", Internal: true})
		hidden := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "My password is hunter2."})
		d.clock.tick(time.Second)
		if _, err := d.svc.SetMessageHidden(ctx, d.sam, tk.ID, hidden.ID, true); err != nil {
			t.Fatal(err)
		}
		d.clock.tick(time.Second)
		if _, err := d.svc.Assign(ctx, d.sam, tk.ID, 901, 7); err != nil {
			t.Fatal(err)
		}
		d.clock.tick(time.Second)
		if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: tk.ID}, core.StatusResolved); err != nil {
			t.Fatal(err)
		}

		all := d.changes(t, core.ChangeFilter{Limit: 100})
		find := func(typ core.ChangeType, ticket, message int64) *core.Change {
			t.Helper()
			for i := len(all) - 1; i >= 0; i-- { // the last one
				c := &all[i]
				if c.Type == typ && c.TicketID == ticket && (message == 0 || c.MessageID == message) {
					return c
				}
			}
			t.Fatalf("no %s change of ticket %d (message %d) in %v", typ, ticket, message, changeTypes(all))
			return nil
		}
		created := find(core.ChangeTicketCreated, tk.ID, 0)
		if created.AccountID != 1 || created.MessageID == 0 || created.Internal {
			t.Errorf("ticket.created %+v, want account 1 with the first message", *created)
		}
		if c := find(core.ChangeMessageCreated, tk.ID, note.ID); !c.Internal {
			t.Errorf("the internal note's message.created %+v, want Internal", *c)
		}
		if c := find(core.ChangeMessageHidden, tk.ID, hidden.ID); c.AccountID != 1 {
			t.Errorf("message.hidden %+v, want account 1", *c)
		}
		if c := find(core.ChangeTicketAssigned, tk.ID, 0); c.AssigneeUserID != 901 || c.DepartmentID != 7 {
			t.Errorf("ticket.assigned %+v, want Sue and Billing", *c)
		}
		if c := find(core.ChangeTicketStatusChanged, tk.ID, 0); c.To != core.StatusResolved || !c.At.Equal(d.clock.Now()) {
			t.Errorf("ticket.status_changed %+v, want to Resolved at %v", *c, d.clock.Now())
		}
		find(core.ChangeTicketCreated, other.ID, 0)
		if !slices.IsSortedFunc(all, func(a, b core.Change) int { return int(a.ID - b.ID) }) {
			t.Errorf("changes not in ID order: %v", changeIDs(all))
		}

		// A customer's feed: their account's changes, without what only staff may see.
		var want []int64
		for _, c := range all {
			if c.AccountID == 1 && !c.Type.StaffOnly() && !c.Internal &&
				!(c.Type == core.ChangeMessageCreated && (c.MessageID == note.ID || c.MessageID == hidden.ID)) {
				want = append(want, c.ID)
			}
		}
		got := d.changes(t, core.ChangeFilter{AccountID: 1, Public: true, Limit: 100})
		if !slices.Equal(changeIDs(got), want) {
			t.Errorf("public feed of account 1: %v %v, want %v", changeIDs(got), changeTypes(got), want)
		}
		for _, c := range got {
			if c.MessageID == note.ID || c.MessageID == hidden.ID {
				t.Errorf("public feed has %+v", c)
			}
		}
		if c := find(core.ChangeMessageCreated, tk.ID, public.ID); !slices.Contains(changeIDs(got), c.ID) {
			t.Errorf("public feed lacks the public reply's change %d", c.ID)
		}
		// Through the service: a customer's feed is public whatever they ask.
		viaSvc, err := d.svc.Changes(ctx, d.ann, core.ChangeFilter{AccountID: 1})
		if err != nil || !slices.Equal(changeIDs(viaSvc), want) {
			t.Errorf("Ann's feed through the service: %v, %v; want %v", changeIDs(viaSvc), err, want)
		}
		// Showing the hidden message again brings its message.created back.
		d.clock.tick(time.Second)
		if _, err := d.svc.SetMessageHidden(ctx, d.sam, tk.ID, hidden.ID, false); err != nil {
			t.Fatal(err)
		}
		again := d.changes(t, core.ChangeFilter{AccountID: 1, Public: true, Limit: 100})
		if c := find(core.ChangeMessageCreated, tk.ID, hidden.ID); !slices.Contains(changeIDs(again), c.ID) {
			t.Errorf("public feed after showing the message again: %v, want change %d in it", changeIDs(again), c.ID)
		}
	})

	t.Run("AddChangeQueuesDeliveries", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		all := d.createWebhook(t, "https://panel.example/all", core.ChangeTypes()...)
		messages := d.createWebhook(t, "https://panel.example/messages", core.ChangeMessageCreated)
		status := d.createWebhook(t, "https://panel.example/status", core.ChangeTicketStatusChanged)
		off := d.createWebhook(t, "https://panel.example/off", core.ChangeMessageCreated, core.ChangeTicketCreated)
		if did, err := d.store.DisableWebhook(ctx, off.ID, "test"); err != nil || !did {
			t.Fatalf("disable: %v, %v", did, err)
		}
		tk := d.ticket(t, d.ann, core.NewTicket{})
		m := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "Any news?"})
		changes := d.changes(t, core.ChangeFilter{Limit: 100})
		if got, want := changeTypes(changes), []core.ChangeType{core.ChangeTicketCreated, core.ChangeMessageCreated}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if got, want := deliveryChanges(d.deliveries(t, all.ID)), []int64{changes[1].ID, changes[0].ID}; !slices.Equal(got, want) {
			t.Errorf("deliveries of the webhook of every type: changes %v, want %v (newest first)", got, want)
		}
		if got, want := deliveryChanges(d.deliveries(t, messages.ID)), []int64{changes[1].ID}; !slices.Equal(got, want) {
			t.Errorf("deliveries of the message webhook: changes %v, want %v", got, want)
		}
		if got := d.deliveries(t, status.ID); len(got) != 0 {
			t.Errorf("deliveries of the status webhook: %+v, want none", got)
		}
		if got := d.deliveries(t, off.ID); len(got) != 0 {
			t.Errorf("deliveries of the disabled webhook: %+v, want none", got)
		}
		dl := d.deliveries(t, messages.ID)[0]
		if dl.ID == 0 || dl.WebhookID != messages.ID || dl.Type != core.ChangeMessageCreated || dl.State != core.DeliveryPending ||
			dl.Attempts != 0 || !dl.NextAttemptAt.Equal(m.CreatedAt) || !dl.CreatedAt.Equal(m.CreatedAt) || !dl.DeliveredAt.IsZero() ||
			dl.LastStatus != 0 || dl.LastError != "" {
			t.Errorf("delivery %+v, want pending, due at the change's time %v", dl, m.CreatedAt)
		}
		// A failed write queues nothing.
		err := d.store.Write(ctx, func(tx core.Tx) error {
			if err := tx.AddChange(ctx, &core.Change{Type: core.ChangeMessageCreated, At: epoch, AccountID: 1}); err != nil {
				return err
			}
			return core.Errorf(core.ECONFLICT, "undo")
		})
		wantCode(t, "a write that fails", err, core.ECONFLICT)
		if got := d.deliveries(t, messages.ID); len(got) != 1 {
			t.Errorf("%d deliveries after a failed write, want 1", len(got))
		}
		if got := d.changes(t, core.ChangeFilter{Limit: 100}); len(got) != 2 {
			t.Errorf("%d changes after a failed write, want 2", len(got))
		}
		// Paging of the deliveries, newest first.
		for range 3 {
			d.addChange(t, core.Change{Type: core.ChangeMessageCreated, AccountID: 1, TicketID: tk.ID})
		}
		full := d.deliveries(t, all.ID)
		var page []core.WebhookDelivery
		d.read(t, func(tx core.ReadTx) (err error) {
			page, err = tx.WebhookDeliveries(ctx, all.ID, core.Page{Number: 2, Size: 2})
			return
		})
		if len(full) != 5 || len(page) != 2 || page[0].ID != full[2].ID || page[1].ID != full[3].ID {
			t.Errorf("page 2 of 2: %v of %v", page, full)
		}
	})

	t.Run("SubscriptionsChangeWithinOneWrite", func(t *testing.T) {
		// A webhook made, or enabled again, in the middle of a write takes the changes
		// after it in that same write, and not those before.
		d := newDesk(t, open, core.Options{})
		var w core.Webhook
		var first, second core.Change
		d.write(t, func(tx core.Tx) error {
			first = core.Change{Type: core.ChangeTicketCreated, At: epoch, AccountID: 1}
			if err := tx.AddChange(ctx, &first); err != nil {
				return err
			}
			w = core.Webhook{URL: "https://panel.example/new", Events: []core.ChangeType{core.ChangeTicketCreated},
				Secret: core.WebhookSecretPrefix + "c2VjcmV0", CreatedAt: epoch}
			if err := tx.CreateWebhook(ctx, &w); err != nil {
				return err
			}
			second = core.Change{Type: core.ChangeTicketCreated, At: epoch, AccountID: 1}
			return tx.AddChange(ctx, &second)
		})
		got := d.deliveries(t, w.ID)
		if len(got) != 1 || got[0].ChangeID != second.ID {
			t.Fatalf("deliveries %+v, want one, of change %d", got, second.ID)
		}
		if did, err := d.store.DisableWebhook(ctx, w.ID, "test"); err != nil || !did {
			t.Fatalf("disable: %v, %v", did, err)
		}
		var third, fourth core.Change
		d.write(t, func(tx core.Tx) error {
			third = core.Change{Type: core.ChangeTicketCreated, At: epoch, AccountID: 1}
			if err := tx.AddChange(ctx, &third); err != nil {
				return err
			}
			if _, err := tx.RedeliverWebhook(ctx, w.ID, got[0].ID, epoch); err != nil {
				return err
			}
			fourth = core.Change{Type: core.ChangeTicketCreated, At: epoch, AccountID: 1}
			return tx.AddChange(ctx, &fourth)
		})
		if got := deliveryChanges(d.deliveries(t, w.ID)); !slices.Equal(got, []int64{fourth.ID, second.ID}) {
			t.Errorf("deliveries of changes %v, want %v (newest first): none for the change while disabled", got, []int64{fourth.ID, second.ID})
		}
	})

	t.Run("Deliveries", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		w := d.createWebhook(t, "https://panel.example/hook", core.ChangeTicketCreated, core.ChangeMessageCreated)
		off := d.createWebhook(t, "https://panel.example/off", core.ChangeTicketCreated)
		tk := d.ticket(t, d.ann, core.NewTicket{})                   // epoch+1s
		m := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "On it."}) // epoch+2s
		if did, err := d.store.DisableWebhook(ctx, off.ID, "test"); err != nil || !did {
			t.Fatalf("disable: %v, %v", did, err)
		}
		changes := d.changes(t, core.ChangeFilter{Limit: 100})
		dels := d.deliveries(t, w.ID) // newest first
		if len(dels) != 2 || len(changes) != 2 {
			t.Fatalf("%d deliveries of %d changes, want 2 of 2", len(dels), len(changes))
		}
		first, second := dels[1], dels[0]
		due := func(now time.Time, limit int) []core.WebhookJob {
			t.Helper()
			list, err := d.store.DueWebhooks(ctx, now, limit)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		if got := due(epoch, 10); len(got) != 0 {
			t.Errorf("due before the changes: %v", jobIDs(got))
		}
		jobs := due(m.CreatedAt, 1)
		if got, want := jobIDs(jobs), []int64{first.ID}; !slices.Equal(got, want) {
			t.Fatalf("due, limit 1: %v, want %v", got, want)
		}
		j := jobs[0]
		if j.URL != w.URL || j.Secret != w.Secret || !sameChange(j.Change, changes[0]) || j.Delivery.WebhookID != w.ID ||
			j.Delivery.ChangeID != changes[0].ID || j.Delivery.Type != core.ChangeTicketCreated || j.Delivery.State != core.DeliveryPending {
			t.Errorf("job %+v, want the first delivery with its endpoint and change %+v", j, changes[0])
		}

		// A failed attempt: due again at its retry, the webhook failing since the attempt.
		at1, next := m.CreatedAt.Add(time.Second), m.CreatedAt.Add(time.Minute)
		hook, err := d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: first.ID, WebhookID: w.ID, State: core.DeliveryPending,
			Attempts: 1, At: at1, Next: next, LastStatus: 500, LastError: "500 Internal Server Error"})
		if err != nil {
			t.Fatal(err)
		}
		if !hook.FailingSince.Equal(at1) || hook.Disabled || hook.Secret != w.Secret {
			t.Errorf("webhook after a failure %+v, want failing since %v", *hook, at1)
		}
		if got, want := jobIDs(due(at1, 10)), []int64{second.ID}; !slices.Equal(got, want) {
			t.Errorf("due before the retry: %v, want %v", got, want)
		}
		// A second failure keeps when the streak began.
		at2 := at1.Add(time.Second)
		hook, err = d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: second.ID, WebhookID: w.ID, State: core.DeliveryFailed,
			Attempts: 9, At: at2, LastError: "connection refused"})
		if err != nil {
			t.Fatal(err)
		}
		if !hook.FailingSince.Equal(at1) {
			t.Errorf("failing since %v after a second failure, want %v", hook.FailingSince, at1)
		}
		if got, want := jobIDs(due(next, 10)), []int64{first.ID}; !slices.Equal(got, want) {
			t.Errorf("due at the retry: %v, want %v (the failed one is done)", got, want)
		}
		// A delivered attempt ends the streak.
		at3 := next.Add(time.Second)
		hook, err = d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: first.ID, WebhookID: w.ID, State: core.DeliveryDelivered,
			Attempts: 2, At: at3, LastStatus: 204})
		if err != nil {
			t.Fatal(err)
		}
		if !hook.FailingSince.IsZero() {
			t.Errorf("failing since %v after a delivery, want zero", hook.FailingSince)
		}
		if got := due(at3.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("due after every outcome: %v, want none", jobIDs(got))
		}
		// A late outcome of a delivery that is done changes nothing of it.
		if _, err := d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: first.ID, WebhookID: w.ID, State: core.DeliveryPending,
			Attempts: 3, At: at3, Next: at3, LastStatus: 502, LastError: "late"}); err != nil {
			t.Fatal(err)
		}
		dels = d.deliveries(t, w.ID)
		if got := dels[1]; got.State != core.DeliveryDelivered || got.Attempts != 2 || got.LastStatus != 204 || got.LastError != "" ||
			!got.DeliveredAt.Equal(at3) || !got.NextAttemptAt.Equal(next) {
			t.Errorf("delivered %+v, want delivered at %v after 2 attempts", got, at3)
		}
		if got := dels[0]; got.State != core.DeliveryFailed || got.Attempts != 9 || got.LastError != "connection refused" ||
			!got.DeliveredAt.IsZero() {
			t.Errorf("failed %+v, want failed after 9 attempts", got)
		}
		// An outcome of an unknown state is refused.
		if _, err := d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: first.ID, WebhookID: w.ID, State: "lost"}); err == nil {
			t.Error("RecordWebhook accepted the state lost")
		}

		// A disabled webhook's deliveries are not due; redelivering one enables the webhook.
		if did, err := d.store.DisableWebhook(ctx, w.ID, "failing"); err != nil || !did {
			t.Fatalf("disable: %v, %v", did, err)
		}
		now := at3.Add(time.Minute)
		var re *core.WebhookDelivery
		d.write(t, func(tx core.Tx) (err error) { re, err = tx.RedeliverWebhook(ctx, w.ID, second.ID, now); return })
		if re.ID != second.ID || re.State != core.DeliveryPending || re.Attempts != 0 || !re.NextAttemptAt.Equal(now) ||
			re.Type != core.ChangeMessageCreated || re.ChangeID != second.ChangeID {
			t.Errorf("redelivered %+v, want pending at %v with no attempts", *re, now)
		}
		if got := d.webhook(t, w.ID); got.Disabled || got.DisabledReason != "" || !got.FailingSince.IsZero() {
			t.Errorf("webhook after a redelivery %+v, want enabled, not failing", *got)
		}
		if got, want := jobIDs(due(now, 10)), []int64{second.ID}; !slices.Equal(got, want) {
			t.Errorf("due after the redelivery: %v, want %v", got, want)
		}
		err = d.store.Write(ctx, func(tx core.Tx) error { _, err := tx.RedeliverWebhook(ctx, w.ID, second.ID+100, now); return err })
		wantCode(t, "redeliver an unknown delivery", err, core.ENOTFOUND)
		err = d.store.Write(ctx, func(tx core.Tx) error { _, err := tx.RedeliverWebhook(ctx, off.ID, second.ID, now); return err })
		wantCode(t, "redeliver another webhook's delivery", err, core.ENOTFOUND)
		if got := d.webhook(t, off.ID); !got.Disabled {
			t.Error("a refused redelivery enabled the other webhook")
		}

		// Deleting the webhook takes its deliveries; an outcome recorded after is ENOTFOUND.
		d.write(t, func(tx core.Tx) error { return tx.DeleteWebhook(ctx, w.ID) })
		if got := d.deliveries(t, w.ID); len(got) != 0 {
			t.Errorf("deliveries of a deleted webhook: %+v", got)
		}
		if got := due(now.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("due after the delete: %v, want none", jobIDs(got))
		}
		_, err = d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: second.ID, WebhookID: w.ID, State: core.DeliveryDelivered,
			Attempts: 1, At: now, LastStatus: 200})
		wantCode(t, "outcome for a deleted webhook", err, core.ENOTFOUND)
		if got := d.changes(t, core.ChangeFilter{Limit: 100}); len(got) != 2 {
			t.Errorf("%d changes after the delete, want the 2 kept", len(got))
		}
	})

	t.Run("NotificationFailed", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		w := d.createWebhook(t, "https://panel.example/failures", core.ChangeNotificationFailed)
		tk := d.ticket(t, d.bob, core.NewTicket{})
		n := d.queue(t,
			core.Notification{Kind: core.NotifyStaffReply, Channel: core.ChannelEmail, UserID: 200, Recipient: "bob@globex.example",
				TicketID: tk.ID, NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelTelegram, Recipient: "-100", NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "x@example.com", NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyNotice, Channel: core.ChannelEmail, Recipient: "y@example.com", NextAttemptAt: epoch},
		)
		before := time.Now().Add(-time.Minute)
		if err := d.store.MarkFailed(ctx, n[0].ID, 8, "550 no such user"); err != nil {
			t.Fatal(err)
		}
		failedAt := epoch.Add(time.Hour)
		err := d.store.RecordOutcomes(ctx, []gateway.DeliveryOutcome{
			{ID: n[1].ID, State: core.NotificationFailed, Attempts: 5, At: failedAt, LastError: "403 bot was kicked"},
			{ID: n[2].ID, State: core.NotificationSent, Attempts: 1, At: failedAt},
		})
		if err != nil {
			t.Fatal(err)
		}
		// No longer pending: no change.
		if err := d.store.MarkFailed(ctx, n[2].ID, 2, "late"); err != nil {
			t.Fatal(err)
		}
		if err := d.store.MarkFailed(ctx, n[0].ID, 9, "again"); err != nil {
			t.Fatal(err)
		}
		changes := d.changes(t, core.ChangeFilter{After: 0, Limit: 100})
		var failed []core.Change
		for _, c := range changes {
			if c.Type == core.ChangeNotificationFailed {
				failed = append(failed, c)
			}
		}
		if len(failed) != 2 {
			t.Fatalf("notification.failed changes %+v, want 2", failed)
		}
		if c := failed[0]; c.TicketID != tk.ID || c.AccountID != 2 || !c.Internal || c.Detail != "email to bob@globex.example: 550 no such user" ||
			c.At.Before(before) {
			t.Errorf("first failure %+v, want ticket %d of account 2, internal, the channel, recipient and error, at about now", c, tk.ID)
		}
		if c := failed[1]; c.TicketID != 0 || c.AccountID != 0 || !c.Internal || c.Detail != "telegram to -100: 403 bot was kicked" ||
			!c.At.Equal(failedAt) {
			t.Errorf("second failure %+v, want no ticket, the Telegram error, at %v", c, failedAt)
		}
		if got := changeIDs(d.changes(t, core.ChangeFilter{AccountID: 2, Public: true, Limit: 100})); slices.Contains(got, failed[0].ID) {
			t.Errorf("a customer's feed %v has the failure %d", got, failed[0].ID)
		}
		if got, want := deliveryChanges(d.deliveries(t, w.ID)), []int64{failed[1].ID, failed[0].ID}; !slices.Equal(got, want) {
			t.Errorf("deliveries of the failure webhook: changes %v, want %v", got, want)
		}
		if got := d.notification(t, n[0].ID); got.State != core.NotificationFailed || got.Attempts != 8 {
			t.Errorf("notification %+v, want failed after 8 attempts", got)
		}
	})

	t.Run("InboundRejected", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		w := d.createWebhook(t, "https://panel.example/rejected", core.ChangeInboundRejected)
		tk := d.ticket(t, d.ann, core.NewTicket{})
		rec := func(key string, result core.InboundResult, ticket int64) core.InboundRecord {
			return core.InboundRecord{Channel: core.ChannelEmail, Key: key, Result: result, TicketID: ticket, Sender: "x@example.com",
				Subject: "Re: Help", Reason: "unknown sender", At: epoch.Add(time.Hour)}
		}
		if err := d.store.Reject(ctx, rec("<r1@example.com>", core.InboundRejected, 0), nil, 1); err != nil {
			t.Fatal(err)
		}
		if err := d.store.Reject(ctx, rec("<r2@example.com>", core.InboundRejected, tk.ID), nil, 1); err != nil {
			t.Fatal(err)
		}
		if err := d.store.Reject(ctx, rec("<robot@example.com>", core.InboundIgnored, 0), nil, 1); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "the same mail again", d.store.Reject(ctx, rec("<r1@example.com>", core.InboundRejected, 0), nil, 1), core.ECONFLICT)
		var rejected []core.Change
		for _, c := range d.changes(t, core.ChangeFilter{Limit: 100}) {
			if c.Type == core.ChangeInboundRejected {
				rejected = append(rejected, c)
			}
		}
		if len(rejected) != 2 {
			t.Fatalf("inbound.rejected changes %+v, want 2 (not the ignored one, not the duplicate)", rejected)
		}
		if c := rejected[0]; c.TicketID != 0 || c.AccountID != 0 || !c.At.Equal(epoch.Add(time.Hour)) ||
			c.Detail != "email <r1@example.com> from x@example.com: unknown sender" {
			t.Errorf("first rejection %+v", c)
		}
		if c := rejected[1]; c.TicketID != tk.ID || c.AccountID != 1 {
			t.Errorf("rejection about a ticket %+v, want ticket %d of account 1", c, tk.ID)
		}
		if got := changeIDs(d.changes(t, core.ChangeFilter{AccountID: 1, Public: true, Limit: 100})); slices.Contains(got, rejected[1].ID) {
			t.Errorf("a customer's feed %v has the rejection %d", got, rejected[1].ID)
		}
		if got, want := deliveryChanges(d.deliveries(t, w.ID)), []int64{rejected[1].ID, rejected[0].ID}; !slices.Equal(got, want) {
			t.Errorf("deliveries of the rejection webhook: changes %v, want %v", got, want)
		}
	})

	t.Run("DeliveryClaims", func(t *testing.T) { testDeliveryClaims(t, open) })
}
