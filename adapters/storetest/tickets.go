package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Tickets as customers see them: the ticket, its messages and attachments, the account's
// list and the history.

func runTickets(t *testing.T, open Opener) {
	t.Run("CreateAndRead", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		first := d.ticket(t, d.ann, core.NewTicket{Subject: "Certificate", Description: "It expired.", Topic: core.TopicSSL, PropertyID: 10})
		created := d.clock.Now()
		second := d.ticket(t, d.ann, core.NewTicket{FollowUpOf: first.ID})
		if second.ID <= first.ID {
			t.Errorf("ticket IDs %d then %d, want them increasing", first.ID, second.ID)
		}
		got := d.getTicket(t, first.ID)
		want := core.Ticket{ID: first.ID, AccountID: 1, UserID: 100, Subject: "Certificate", Description: "It expired.",
			Topic: core.TopicSSL, Status: core.StatusOpen, PropertyID: 10, PropertyName: "acme.example", Channel: core.ChannelAPI,
			MessageCount: 1, PublicMessageCount: 1, CreatedAt: created, UpdatedAt: created}
		if !sameTicket(*got, want) {
			t.Errorf("ticket\n got %+v\nwant %+v", *got, want)
		}
		if got := d.getTicket(t, second.ID); got.FollowUpOf != first.ID || got.PropertyID != 0 || got.PropertyName != "" {
			t.Errorf("follow-up %+v, want FollowUpOf %d and no property", got, first.ID)
		}
		err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Ticket(ctx, second.ID+1); return err })
		wantCode(t, "missing ticket", err, core.ENOTFOUND)
	})

	t.Run("MessageCountsWithoutMovingUpdatedBack", func(t *testing.T) {
		// A message dated before the ticket's last change (a mail that took its time) is
		// counted and leaves updated_at where it is; one dated at the same instant too.
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		before := d.getTicket(t, tk.ID)
		for _, at := range []time.Time{before.UpdatedAt.Add(-time.Hour), before.UpdatedAt} {
			d.write(t, func(tx core.Tx) error {
				return tx.CreateMessage(ctx, &core.Message{TicketID: tk.ID, AuthorUserID: 100, Author: core.AuthorCustomer,
					Channel: core.ChannelEmail, Body: "late", CreatedAt: at})
			})
		}
		got := d.getTicket(t, tk.ID)
		if got.MessageCount != 3 || got.PublicMessageCount != 3 || !got.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("counts %d/%d updated %v, want 3/3 still updated %v", got.MessageCount, got.PublicMessageCount, got.UpdatedAt, before.UpdatedAt)
		}
	})

	t.Run("CountsOfTicketsCreatedInOneWrite", func(t *testing.T) {
		// A store may count a new ticket's public first message in its INSERT; whatever the
		// write then adds (nothing, an internal note first, more messages), the counts are
		// the messages it holds.
		d := newDesk(t, open, core.Options{})
		at := d.clock.Now()
		var bare, noted, busy core.Ticket
		d.write(t, func(tx core.Tx) error {
			for _, tk := range []*core.Ticket{&bare, &noted, &busy} {
				*tk = core.Ticket{AccountID: 1, UserID: 100, Subject: "s", Status: core.StatusOpen, Channel: core.ChannelAPI,
					CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateTicket(ctx, tk); err != nil {
					return err
				}
			}
			msgs := []core.Message{
				{TicketID: noted.ID, AuthorUserID: 900, Author: core.AuthorStaff, Body: "note", Internal: true, CreatedAt: at},
				{TicketID: noted.ID, AuthorUserID: 100, Author: core.AuthorCustomer, Body: "later", CreatedAt: at.Add(time.Second)},
				{TicketID: busy.ID, AuthorUserID: 100, Author: core.AuthorCustomer, Body: "first", CreatedAt: at},
				{TicketID: busy.ID, AuthorUserID: 100, Author: core.AuthorCustomer, Body: "second", CreatedAt: at},
			}
			for i := range msgs {
				msgs[i].Channel = core.ChannelAPI
				if err := tx.CreateMessage(ctx, &msgs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			name          string
			id            int64
			total, public int
			updated       time.Time
		}{
			{"no message", bare.ID, 0, 0, at},
			{"an internal note, then a reply", noted.ID, 2, 1, at.Add(time.Second)},
			{"two public messages", busy.ID, 2, 2, at},
		} {
			got := d.getTicket(t, c.id)
			if got.MessageCount != c.total || got.PublicMessageCount != c.public || !got.UpdatedAt.Equal(c.updated) {
				t.Errorf("%s: counts %d/%d updated %v, want %d/%d updated %v", c.name, got.MessageCount, got.PublicMessageCount,
					got.UpdatedAt, c.total, c.public, c.updated)
			}
		}
	})

	t.Run("MessagesAndVisibility", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		public := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Looking into it."})
		note := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Customer is on the old plan.", Internal: true})
		answer := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "Thanks", FullBody: "Thanks\n> Looking into it.", Unverified: true})
		hidden := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Wrong ticket, sorry."})
		last := d.clock.Now()
		if _, err := d.svc.SetMessageHidden(ctx, d.sam, tk.ID, hidden.ID, true); err != nil {
			t.Fatal(err)
		}
		got := d.getTicket(t, tk.ID)
		if got.MessageCount != 5 || got.PublicMessageCount != 3 || !got.UpdatedAt.Equal(last) {
			t.Errorf("ticket counts %d/%d updated %v, want 5/3 updated at the last message %v", got.MessageCount, got.PublicMessageCount, got.UpdatedAt, last)
		}
		var customer, staff []core.Message
		d.read(t, func(tx core.ReadTx) (err error) {
			if customer, err = tx.Messages(ctx, tk.ID, false); err != nil {
				return err
			}
			staff, err = tx.Messages(ctx, tk.ID, true)
			return err
		})
		if got, want := messageIDs(customer), []int64{customer[0].ID, public.ID, answer.ID}; !slices.Equal(got, want) {
			t.Errorf("public messages %v, want %v", got, want)
		}
		if got, want := messageIDs(staff), []int64{staff[0].ID, public.ID, note.ID, answer.ID, hidden.ID}; !slices.Equal(got, want) {
			t.Fatalf("all messages %v, want %v", got, want)
		}
		desc := staff[0]
		if desc.Body != "Something is broken." || desc.Author != core.AuthorCustomer || desc.AuthorUserID != 100 ||
			desc.Channel != core.ChannelAPI || !desc.CreatedAt.Equal(tk.CreatedAt) || desc.TicketID != tk.ID {
			t.Errorf("description message %+v", desc)
		}
		if m := staff[2]; !m.Internal || m.Hidden || m.Author != core.AuthorStaff || m.AuthorUserID != 900 {
			t.Errorf("note %+v, want internal, by staff user 900", m)
		}
		if m := staff[3]; m.FullBody != "Thanks\n> Looking into it." || !m.Unverified || m.Body != "Thanks" {
			t.Errorf("customer reply %+v, want its full body and unverified", m)
		}
		if m := staff[4]; !m.Hidden || m.Internal {
			t.Errorf("hidden reply %+v, want hidden, not internal", m)
		}
		if m := staff[1]; m.FullBody != "" || m.Unverified {
			t.Errorf("staff reply %+v, want no full body, verified", m)
		}
		var one *core.Message
		d.read(t, func(tx core.ReadTx) (err error) { one, err = tx.Message(ctx, answer.ID); return })
		if one.ID != answer.ID || one.TicketID != tk.ID || one.FullBody != "Thanks\n> Looking into it." || !one.CreatedAt.Equal(answer.CreatedAt) {
			t.Errorf("Message(%d) %+v", answer.ID, one)
		}
		err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Message(ctx, hidden.ID+1); return err })
		wantCode(t, "missing message", err, core.ENOTFOUND)
		// Shown again, it counts again.
		if _, err := d.svc.SetMessageHidden(ctx, d.sam, tk.ID, hidden.ID, false); err != nil {
			t.Fatal(err)
		}
		if got := d.getTicket(t, tk.ID); got.MessageCount != 5 || got.PublicMessageCount != 4 {
			t.Errorf("counts after showing %d/%d, want 5/4", got.MessageCount, got.PublicMessageCount)
		}
		var none []core.Message
		d.read(t, func(tx core.ReadTx) (err error) { none, err = tx.Messages(ctx, tk.ID+1, true); return })
		if none == nil || len(none) != 0 {
			t.Errorf("messages of a missing ticket %v, want an empty list", none)
		}
	})

	t.Run("Attachments", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		stage := func(name, content string) core.FileRef {
			f, err := d.svc.StageFile(ctx, name, "text/plain", strings.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		logf, shot := stage("log.txt", "line 1\n"), stage("shot.txt", "pixels")
		tk := d.ticket(t, d.ann, core.NewTicket{Files: []core.FileRef{logf}})
		m := d.reply(t, d.sam, tk.ID, core.NewReply{Body: "Both attached.", Files: []core.FileRef{shot, logf}, Internal: true})
		var staff, customer []core.Message
		d.read(t, func(tx core.ReadTx) (err error) {
			if staff, err = tx.Messages(ctx, tk.ID, true); err != nil {
				return err
			}
			customer, err = tx.Messages(ctx, tk.ID, false)
			return err
		})
		if len(staff) != 2 || len(customer) != 1 {
			t.Fatalf("%d messages for staff and %d for the customer, want 2 and 1", len(staff), len(customer))
		}
		check := func(what string, got []core.Attachment, msgID int64, want ...core.FileRef) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %d attachments, want %d", what, len(got), len(want))
			}
			for i, a := range got {
				w := want[i]
				if a.ID == 0 || a.TicketID != tk.ID || a.MessageID != msgID || a.FileName != w.FileName ||
					a.ContentType != w.ContentType || a.Size != w.Size || a.Hash != w.Hash || a.CreatedAt.IsZero() {
					t.Errorf("%s: attachment %d %+v, want %+v on message %d of ticket %d", what, i, a, w, msgID, tk.ID)
				}
			}
		}
		check("description", staff[0].Attachments, staff[0].ID, logf)
		check("description as the customer reads it", customer[0].Attachments, staff[0].ID, logf)
		check("note", staff[1].Attachments, m.ID, shot, logf)
		if staff[1].Attachments[0].ID == staff[1].Attachments[1].ID || staff[1].Attachments[1].ID == staff[0].Attachments[0].ID {
			t.Errorf("attachment IDs not distinct: %+v", staff[1].Attachments)
		}
		var a *core.Attachment
		want := staff[1].Attachments[0]
		d.read(t, func(tx core.ReadTx) (err error) { a, err = tx.Attachment(ctx, want.ID); return })
		if a.ID != want.ID || a.MessageID != m.ID || a.Hash != shot.Hash || a.FileName != "shot.txt" || !a.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("Attachment(%d) %+v, want %+v", want.ID, a, want)
		}
		var plain *core.Message
		d.read(t, func(tx core.ReadTx) (err error) { plain, err = tx.Message(ctx, m.ID); return })
		if len(plain.Attachments) != 0 {
			t.Errorf("Message(%d) carries %d attachments, want none (it reads the message alone)", m.ID, len(plain.Attachments))
		}
		err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Attachment(ctx, want.ID+100); return err })
		wantCode(t, "missing attachment", err, core.ENOTFOUND)
	})

	t.Run("CustomerList", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		t1 := d.ticket(t, d.ann, core.NewTicket{Subject: "General"})
		t2 := d.ticket(t, d.ann, core.NewTicket{Subject: "SSL on site", Topic: core.TopicSSL, PropertyID: 10})
		t3 := d.ticket(t, d.cat, core.NewTicket{AccountID: 1, Subject: "SSL again", Topic: core.TopicSSL, PropertyID: 10})
		t4 := d.ticket(t, d.ann, core.NewTicket{Subject: "Invoice", Topic: core.TopicBilling})
		d.ticket(t, d.bob, core.NewTicket{Subject: "Other account"})
		if _, err := d.svc.SetStatus(ctx, d.sam, core.TicketRef{ID: t3.ID}, core.StatusInProgress); err != nil {
			t.Fatal(err)
		}
		if _, err := d.svc.Close(ctx, d.ann, core.TicketRef{ID: t4.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.svc.Archive(ctx, d.ann, core.TicketRef{ID: t4.ID}, true); err != nil {
			t.Fatal(err)
		}
		page := func(n, size int) core.Page { return core.Page{Number: n, Size: size} }
		all := page(1, 20)
		tests := []struct {
			name  string
			f     core.TicketFilter
			want  []int64
			total int
		}{
			{"all but archived, newest first", core.TicketFilter{Page: all}, []int64{t3.ID, t2.ID, t1.ID}, 3},
			{"open", core.TicketFilter{Status: ptr(core.StatusOpen), Page: all}, []int64{t2.ID, t1.ID}, 2},
			{"in progress", core.TicketFilter{Status: ptr(core.StatusInProgress), Page: all}, []int64{t3.ID}, 1},
			{"closed but not archived", core.TicketFilter{Status: ptr(core.StatusClosed), Page: all}, []int64{}, 0},
			{"topic", core.TicketFilter{Topic: ptr(core.TopicSSL), Page: all}, []int64{t3.ID, t2.ID}, 2},
			{"property", core.TicketFilter{PropertyID: ptr(int64(10)), Page: all}, []int64{t3.ID, t2.ID}, 2},
			{"no property", core.TicketFilter{PropertyID: ptr(int64(0)), Page: all}, []int64{t1.ID}, 1},
			{"status and topic", core.TicketFilter{Status: ptr(core.StatusOpen), Topic: ptr(core.TopicSSL), Page: all}, []int64{t2.ID}, 1},
			{"archived", core.TicketFilter{Archived: true, Page: all}, []int64{t4.ID}, 1},
			{"archived and closed", core.TicketFilter{Archived: true, Status: ptr(core.StatusClosed), Page: all}, []int64{t4.ID}, 1},
			{"first page", core.TicketFilter{Page: page(1, 2)}, []int64{t3.ID, t2.ID}, 3},
			{"last page", core.TicketFilter{Page: page(2, 2)}, []int64{t1.ID}, 3},
			{"past the last page", core.TicketFilter{Page: page(3, 2)}, []int64{}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f.AccountID = 1
				var list []core.Ticket
				var total int
				d.read(t, func(tx core.ReadTx) (err error) { list, total, err = tx.Tickets(ctx, tt.f); return })
				if list == nil {
					t.Error("nil list, want an empty one")
				}
				if got := ids(list); !slices.Equal(got, tt.want) || total != tt.total {
					t.Errorf("got %v of %d, want %v of %d", got, total, tt.want, tt.total)
				}
			})
		}
		var list []core.Ticket
		d.read(t, func(tx core.ReadTx) (err error) {
			list, _, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, PropertyID: ptr(int64(10)), Page: all})
			return
		})
		for _, tk := range list {
			if tk.PropertyName != "acme.example" || tk.MessageCount != 1 {
				t.Errorf("listed ticket %d: property name %q, %d messages; want acme.example, 1", tk.ID, tk.PropertyName, tk.MessageCount)
			}
		}
	})

	t.Run("History", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		closed := d.ticket(t, d.ann, core.NewTicket{})
		tk := d.ticket(t, d.ann, core.NewTicket{FollowUpOf: closed.ID})
		created := d.clock.Now()
		set := func(who core.Actor, s core.Status) time.Time {
			t.Helper()
			at := d.clock.tick(time.Minute)
			if _, err := d.svc.SetStatus(ctx, who, core.TicketRef{ID: tk.ID}, s); err != nil {
				t.Fatal(err)
			}
			return at
		}
		inProgress := set(d.sam, core.StatusInProgress)
		resolved := set(d.sam, core.StatusResolved)
		d.reply(t, d.ann, tk.ID, core.NewReply{Body: "Still broken."})
		reopened := d.clock.Now()
		var events []core.TicketEvent
		d.read(t, func(tx core.ReadTx) (err error) { events, err = tx.TicketEvents(ctx, tk.ID); return })
		want := []core.TicketEvent{
			{TicketID: tk.ID, At: created, ActorUserID: 100, Kind: core.KindCreated, To: core.StatusOpen, Detail: "follow-up of #" + itoaID(closed.ID)},
			{TicketID: tk.ID, At: inProgress, ActorUserID: 900, Kind: core.KindStatus, From: core.StatusOpen, To: core.StatusInProgress},
			{TicketID: tk.ID, At: resolved, ActorUserID: 900, Kind: core.KindStatus, From: core.StatusInProgress, To: core.StatusResolved},
			{TicketID: tk.ID, At: reopened, ActorUserID: 100, Kind: core.KindStatus, From: core.StatusResolved, To: core.StatusOpen},
		}
		if len(events) != len(want) {
			t.Fatalf("history %+v, want %+v", events, want)
		}
		for i, e := range events {
			w := want[i]
			if e.ID == 0 || (i > 0 && e.ID <= events[i-1].ID) {
				t.Errorf("event %d has ID %d, want IDs increasing", i, e.ID)
			}
			w.ID = e.ID
			if !e.At.Equal(w.At) {
				t.Errorf("event %d at %v, want %v", i, e.At, w.At)
			}
			e.At, w.At = time.Time{}, time.Time{}
			if e != w {
				t.Errorf("event %d\n got %+v\nwant %+v", i, e, w)
			}
		}
		if got := d.getTicket(t, tk.ID); got.Status != core.StatusOpen || !got.UpdatedAt.Equal(reopened) {
			t.Errorf("ticket status %v updated %v, want Open updated %v", got.Status, got.UpdatedAt, reopened)
		}
		var none []core.TicketEvent
		d.read(t, func(tx core.ReadTx) (err error) { none, err = tx.TicketEvents(ctx, tk.ID+1); return })
		if none == nil || len(none) != 0 {
			t.Errorf("history of a missing ticket %v, want an empty list", none)
		}
	})

	t.Run("UpdatedAtNeverGoesBack", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		// Changes carry their own times; one stamped earlier than the ticket's last change
		// (a slow writer) leaves UpdatedAt where it was.
		d.write(t, func(tx core.Tx) error { return tx.SetTicketStatus(ctx, tk.ID, core.StatusInProgress, epoch) })
		d.write(t, func(tx core.Tx) error {
			return tx.CreateMessage(ctx, &core.Message{TicketID: tk.ID, Author: core.AuthorSystem, Channel: core.ChannelAPI, Body: "late", CreatedAt: epoch})
		})
		got := d.getTicket(t, tk.ID)
		if got.Status != core.StatusInProgress || !got.UpdatedAt.Equal(tk.UpdatedAt) || got.MessageCount != 2 || got.PublicMessageCount != 2 {
			t.Errorf("ticket %+v, want In Progress, 2 messages, updated still %v", got, tk.UpdatedAt)
		}
		later := d.clock.tick(time.Hour)
		d.write(t, func(tx core.Tx) error { return tx.SetTicketStatus(ctx, tk.ID, core.StatusResolved, later) })
		if got := d.getTicket(t, tk.ID); !got.UpdatedAt.Equal(later) {
			t.Errorf("updated %v after a later change, want %v", got.UpdatedAt, later)
		}
	})

	t.Run("Moderation", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{Description: "first text"})
		r := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "reply text"})
		var msgs []core.Message
		d.read(t, func(tx core.ReadTx) (err error) { msgs, err = tx.Messages(ctx, tk.ID, true); return })
		first := msgs[0].ID
		edit := func(id int64, body string) time.Time {
			t.Helper()
			at := d.clock.tick(time.Minute)
			if _, err := d.svc.EditMessage(ctx, d.sam, tk.ID, id, body); err != nil {
				t.Fatal(err)
			}
			return at
		}
		at1 := edit(first, "second text")
		at2 := edit(first, "third text")
		edit(r.ID, "reply, edited")
		got := d.getTicket(t, tk.ID)
		if got.Description != "third text" {
			t.Errorf("description %q after editing the first message, want %q", got.Description, "third text")
		}
		var revs []core.MessageRevision
		d.read(t, func(tx core.ReadTx) (err error) { revs, err = tx.MessageRevisions(ctx, first); return })
		if len(revs) != 2 || revs[0].Body != "first text" || revs[1].Body != "second text" ||
			!revs[0].EditedAt.Equal(at1) || !revs[1].EditedAt.Equal(at2) || revs[0].EditedBy != 900 || revs[0].MessageID != first || revs[0].ID == 0 {
			t.Errorf("revisions %+v, want first text (%v) then second text (%v) by 900", revs, at1, at2)
		}
		var m *core.Message
		d.read(t, func(tx core.ReadTx) (err error) { m, err = tx.Message(ctx, r.ID); return })
		if m.Body != "reply, edited" {
			t.Errorf("edited reply reads %q", m.Body)
		}
		if got := d.getTicket(t, tk.ID); got.Description != "third text" {
			t.Errorf("editing a reply changed the description to %q", got.Description)
		}
		d.read(t, func(tx core.ReadTx) (err error) { revs, err = tx.MessageRevisions(ctx, r.ID+1); return })
		if revs == nil || len(revs) != 0 {
			t.Errorf("revisions of a missing message %v, want an empty list", revs)
		}
	})

	t.Run("SplitAndMerge", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		f, err := d.svc.StageFile(ctx, "a.txt", "text/plain", strings.NewReader("a"))
		if err != nil {
			t.Fatal(err)
		}
		tk := d.ticket(t, d.ann, core.NewTicket{Subject: "Two problems"})
		d.reply(t, d.sam, tk.ID, core.NewReply{Body: "note", Internal: true})
		split := d.reply(t, d.ann, tk.ID, core.NewReply{Body: "And the mail is down.", Files: []core.FileRef{f}})
		d.reply(t, d.sam, tk.ID, core.NewReply{Body: "On it."})
		nt, err := d.svc.SplitTicket(ctx, d.sam, tk.ID, split.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		old, moved := d.getTicket(t, tk.ID), d.getTicket(t, nt.ID)
		if old.MessageCount != 2 || old.PublicMessageCount != 1 || moved.MessageCount != 2 || moved.PublicMessageCount != 2 {
			t.Errorf("counts after the split %d/%d and %d/%d, want 2/1 and 2/2",
				old.MessageCount, old.PublicMessageCount, moved.MessageCount, moved.PublicMessageCount)
		}
		if moved.Description != "And the mail is down." || moved.AccountID != 1 || moved.UserID != 100 {
			t.Errorf("split ticket %+v", moved)
		}
		var msgs []core.Message
		d.read(t, func(tx core.ReadTx) (err error) { msgs, err = tx.Messages(ctx, nt.ID, true); return })
		if len(msgs) != 2 || msgs[0].ID != split.ID || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].TicketID != nt.ID {
			t.Fatalf("messages of the split ticket %+v, want message %d first with its attachment", msgs, split.ID)
		}
		if _, err := d.svc.MergeTickets(ctx, d.sam, nt.ID, tk.ID); err != nil {
			t.Fatal(err)
		}
		old, moved = d.getTicket(t, tk.ID), d.getTicket(t, nt.ID)
		if old.MessageCount != 4 || old.PublicMessageCount != 3 || moved.MessageCount != 0 || moved.PublicMessageCount != 0 {
			t.Errorf("counts after the merge %d/%d and %d/%d, want 4/3 and 0/0",
				old.MessageCount, old.PublicMessageCount, moved.MessageCount, moved.PublicMessageCount)
		}
		var w *core.TicketWork
		d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, nt.ID, 900); return })
		if w.MergedInto != tk.ID {
			t.Errorf("merged ticket's MergedInto %d, want %d", w.MergedInto, tk.ID)
		}
	})

	t.Run("MoveMessages", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		f, err := d.svc.StageFile(ctx, "b.txt", "text/plain", strings.NewReader("b"))
		if err != nil {
			t.Fatal(err)
		}
		from := d.ticket(t, d.ann, core.NewTicket{})
		to := d.ticket(t, d.ann, core.NewTicket{})
		d.reply(t, d.ann, from.ID, core.NewReply{Body: "stays"})
		first := d.reply(t, d.ann, from.ID, core.NewReply{Body: "moves", Files: []core.FileRef{f}})
		d.reply(t, d.sam, from.ID, core.NewReply{Body: "moves too", Internal: true})
		n := d.queue(t,
			core.Notification{Kind: core.NotifyCustomerReply, Channel: core.ChannelEmail, Recipient: "desk@desk.example",
				TicketID: from.ID, MessageID: first.ID, NextAttemptAt: epoch},
			core.Notification{Kind: core.NotifyCustomerReply, Channel: core.ChannelEmail, Recipient: "other@desk.example",
				TicketID: from.ID, MessageID: first.ID, NextAttemptAt: epoch})
		if err := d.store.MarkSent(ctx, n[1].ID, 1, epoch); err != nil {
			t.Fatal(err)
		}
		at := d.clock.tick(time.Hour)
		var moved int
		d.write(t, func(tx core.Tx) (err error) { moved, err = tx.MoveMessages(ctx, from.ID, to.ID, first.ID, at); return })
		if moved != 2 {
			t.Errorf("moved %d messages, want 2", moved)
		}
		src, dst := d.getTicket(t, from.ID), d.getTicket(t, to.ID)
		if src.MessageCount != 2 || src.PublicMessageCount != 2 || dst.MessageCount != 3 || dst.PublicMessageCount != 2 {
			t.Errorf("counts %d/%d and %d/%d, want 2/2 and 3/2", src.MessageCount, src.PublicMessageCount, dst.MessageCount, dst.PublicMessageCount)
		}
		if !src.UpdatedAt.Equal(at) || !dst.UpdatedAt.Equal(at) {
			t.Errorf("updated %v and %v, want both %v", src.UpdatedAt, dst.UpdatedAt, at)
		}
		var msgs []core.Message
		d.read(t, func(tx core.ReadTx) (err error) { msgs, err = tx.Messages(ctx, to.ID, true); return })
		if len(msgs) != 3 || msgs[1].ID != first.ID || msgs[1].TicketID != to.ID || len(msgs[1].Attachments) != 1 ||
			msgs[1].Attachments[0].TicketID != to.ID {
			t.Errorf("messages of the target %+v, want its own then the two moved, the first with its attachment", msgs)
		}
		// What is still to be sent about a moved message names its new ticket; what was
		// sent keeps the ticket it was about.
		if got := d.notification(t, n[0].ID); got.TicketID != to.ID {
			t.Errorf("pending notification about ticket %d, want %d", got.TicketID, to.ID)
		}
		if got := d.notification(t, n[1].ID); got.TicketID != from.ID {
			t.Errorf("sent notification about ticket %d, want %d", got.TicketID, from.ID)
		}
		// All of them (from 0).
		d.write(t, func(tx core.Tx) (err error) { moved, err = tx.MoveMessages(ctx, from.ID, to.ID, 0, at); return })
		if src := d.getTicket(t, from.ID); moved != 2 || src.MessageCount != 0 || src.PublicMessageCount != 0 {
			t.Errorf("moving all: %d moved, %d/%d left; want 2, 0/0", moved, src.MessageCount, src.PublicMessageCount)
		}
	})

	t.Run("ExtrasAndArchive", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{DepartmentID: 7, ServiceType: "server"})
		work := func() core.TicketWork {
			t.Helper()
			var w *core.TicketWork
			d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.TicketWork(ctx, tk.ID, 100); return })
			return *w
		}
		if w := work(); w.DepartmentID != 7 || w.DepartmentName != "Billing" || w.ServiceType != "server" || w.Archived {
			t.Errorf("work of a new ticket %+v, want department 7 (Billing), service type server, not archived", w)
		}
		if _, err := d.svc.Close(ctx, d.ann, core.TicketRef{ID: tk.ID}); err != nil {
			t.Fatal(err)
		}
		for _, archived := range []bool{true, false, true} {
			d.clock.tick(time.Second)
			if _, err := d.svc.Archive(ctx, d.ann, core.TicketRef{ID: tk.ID}, archived); err != nil {
				t.Fatal(err)
			}
			if w := work(); w.Archived != archived {
				t.Errorf("archived %v, want %v", w.Archived, archived)
			}
		}
		var events []core.TicketEvent
		d.read(t, func(tx core.ReadTx) (err error) { events, err = tx.TicketEvents(ctx, tk.ID); return })
		var kinds []core.EventKind
		for _, e := range events {
			kinds = append(kinds, e.Kind)
		}
		want := []core.EventKind{core.KindCreated, core.KindStatus, core.KindArchived, core.KindUnarchived, core.KindArchived}
		if !slices.Equal(kinds, want) {
			t.Errorf("history %v, want %v", kinds, want)
		}
		// The staff-side extras are set again, and cleared, through the port.
		d.write(t, func(tx core.Tx) error { return tx.SetTicketExtras(ctx, tk.ID, 0, "") })
		if w := work(); w.DepartmentID != 0 || w.DepartmentName != "" || w.ServiceType != "" {
			t.Errorf("work after clearing the extras %+v", w)
		}
	})

	t.Run("ChangesToMissingRecords", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		tk := d.ticket(t, d.ann, core.NewTicket{})
		missing := tk.ID + 1000
		tests := []struct {
			name string
			fn   func(tx core.Tx) error
		}{
			{"SetTicketStatus", func(tx core.Tx) error { return tx.SetTicketStatus(ctx, missing, core.StatusResolved, epoch) }},
			{"SetAssignment", func(tx core.Tx) error { return tx.SetAssignment(ctx, missing, 900, 0) }},
			{"SetDeadline", func(tx core.Tx) error { return tx.SetDeadline(ctx, missing, epoch) }},
			{"SetArchived", func(tx core.Tx) error { return tx.SetArchived(ctx, missing, true) }},
			{"SetMergedInto", func(tx core.Tx) error { return tx.SetMergedInto(ctx, missing, tk.ID) }},
			{"SetTicketExtras", func(tx core.Tx) error { return tx.SetTicketExtras(ctx, missing, 0, "server") }},
			{"SetMessageHidden", func(tx core.Tx) error { return tx.SetMessageHidden(ctx, missing, true) }},
			{"SetTelegramID", func(tx core.Tx) error { return tx.SetTelegramID(ctx, 999, 4242) }},
			{"TicketWork", func(tx core.Tx) error { _, err := tx.TicketWork(ctx, missing, 900); return err }},
			{"CreateMessage", func(tx core.Tx) error {
				return tx.CreateMessage(ctx, &core.Message{TicketID: missing, Author: core.AuthorCustomer, Channel: core.ChannelAPI, Body: "x", CreatedAt: epoch})
			}},
			{"SetFavourite", func(tx core.Tx) error { return tx.SetFavourite(ctx, 900, missing, true, epoch) }},
			{"SetRead", func(tx core.Tx) error { return tx.SetRead(ctx, 900, missing, true, epoch) }},
			{"EditMessage", func(tx core.Tx) error {
				return tx.EditMessage(ctx, &core.MessageRevision{MessageID: missing, Body: "was", EditedAt: epoch}, "now", false)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, tt.name, d.store.Write(ctx, tt.fn), core.ENOTFOUND)
			})
		}
	})
}

// sameTicket compares tickets, their times by instant.
func sameTicket(a, b core.Ticket) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		return false
	}
	a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func messageIDs(list []core.Message) []int64 {
	out := []int64{}
	for _, m := range list {
		out = append(out, m.ID)
	}
	return out
}
