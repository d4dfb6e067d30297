package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Transactions: a Write keeps all of fn or nothing of it, and sees its own changes.

func runWrites(t *testing.T, open Opener) {
	changeMyMind := errors.New("changed my mind")
	// everything does one of each kind of change the store keeps and fails the write
	// with fail.
	everything := func(d *desk, fail func() error) func(tx core.Tx) error {
		return func(tx core.Tx) error {
			if err := tx.PutAccount(ctx, &core.Account{ID: 5, Name: "New", CreatedAt: epoch, UpdatedAt: epoch}); err != nil {
				return err
			}
			if err := tx.PutUser(ctx, &core.User{ID: 500, Email: "new@example.com", Name: "New", Role: core.RoleCustomer,
				AccountIDs: []int64{5}, CreatedAt: epoch, UpdatedAt: epoch}); err != nil {
				return err
			}
			tk := &core.Ticket{AccountID: 5, UserID: 500, Subject: "s", Description: "d", Channel: core.ChannelAPI, CreatedAt: epoch, UpdatedAt: epoch}
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
			m := &core.Message{TicketID: tk.ID, AuthorUserID: 500, Author: core.AuthorCustomer, Channel: core.ChannelAPI, Body: "d", CreatedAt: epoch}
			if err := tx.CreateMessage(ctx, m); err != nil {
				return err
			}
			if err := tx.RecordInbound(ctx, &core.InboundRecord{Channel: core.ChannelEmail, Key: "<undone@example.com>",
				Result: core.InboundTicket, TicketID: tk.ID, MessageID: m.ID, At: epoch}); err != nil {
				return err
			}
			if err := tx.AddNotification(ctx, &core.Notification{Kind: core.NotifyNewTicket, Channel: core.ChannelEmail,
				Recipient: "desk@desk.example", TicketID: tk.ID, State: core.NotificationPending, NextAttemptAt: epoch, CreatedAt: epoch}); err != nil {
				return err
			}
			// The write sees its own changes before it commits.
			if got, err := tx.Ticket(ctx, tk.ID); err != nil || got.MessageCount != 1 {
				return errors.Join(errors.New("the write does not see its own ticket"), err)
			}
			if u, err := tx.UserByEmail(ctx, "new@example.com"); err != nil || u.ID != 500 {
				return errors.Join(errors.New("the write does not see its own user"), err)
			}
			return fail()
		}
	}
	// nothingKept fails the test if anything of everything is visible.
	nothingKept := func(t *testing.T, d *desk) {
		t.Helper()
		d.read(t, func(tx core.ReadTx) error {
			_, err := tx.Account(ctx, 5)
			wantCode(t, "account of the undone write", err, core.ENOTFOUND)
			_, err = tx.User(ctx, 500)
			wantCode(t, "user of the undone write", err, core.ENOTFOUND)
			_, err = tx.UserByEmail(ctx, "new@example.com")
			wantCode(t, "user of the undone write by email", err, core.ENOTFOUND)
			return nil
		})
		_, err := d.store.Inbound(ctx, core.ChannelEmail, "<undone@example.com>")
		wantCode(t, "inbound record of the undone write", err, core.ENOTFOUND)
		list, err := d.store.Notifications(ctx, core.NotificationPending, 10)
		if err != nil || len(list) != 0 {
			t.Errorf("pending notifications after the undone write: %d, %v; want none", len(list), err)
		}
	}

	tests := []struct {
		name  string
		fail  func() error
		check func(t *testing.T, err error)
	}{
		{"an error is returned as it is", func() error { return changeMyMind }, func(t *testing.T, err error) {
			if !errors.Is(err, changeMyMind) {
				t.Errorf("Write returned %v, want fn's error", err)
			}
		}},
		{"a domain error keeps its code", func() error { return core.Errorf(core.ECONFLICT, "no") }, func(t *testing.T, err error) {
			wantCode(t, "Write", err, core.ECONFLICT)
		}},
		{"a panic is an error", func() error { panic("boom") }, func(t *testing.T, err error) {
			if err == nil {
				t.Error("Write of a panicking fn returned nil")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDesk(t, open, core.Options{})
			tt.check(t, d.store.Write(ctx, everything(d, tt.fail)))
			nothingKept(t, d)
			// The store goes on writing, and what was undone can be done again.
			d.write(t, everything(d, func() error { return nil }))
			var u *core.User
			d.read(t, func(tx core.ReadTx) (err error) { u, err = tx.User(ctx, 500); return })
			if u.Email != "new@example.com" {
				t.Errorf("user after the repeated write %+v", u)
			}
		})
	}

	t.Run("CountsOfATicketAndItsFirstMessages", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		at := d.clock.tick(time.Minute)
		msg := func(ticket int64, internal bool, created time.Time) *core.Message {
			return &core.Message{TicketID: ticket, Author: core.AuthorCustomer, AuthorUserID: 100, Channel: core.ChannelAPI,
				Body: "text", Internal: internal, CreatedAt: created}
		}
		cases := []struct {
			name           string
			messages       func(id int64) []*core.Message
			count, public  int
			updatedAtLater bool
		}{
			{"none", func(int64) []*core.Message { return nil }, 0, 0, false},
			{"one public", func(id int64) []*core.Message { return []*core.Message{msg(id, false, at)} }, 1, 1, false},
			{"an internal first", func(id int64) []*core.Message { return []*core.Message{msg(id, true, at)} }, 1, 0, false},
			{"two public", func(id int64) []*core.Message { return []*core.Message{msg(id, false, at), msg(id, false, at)} }, 2, 2, false},
			{"internal then public", func(id int64) []*core.Message { return []*core.Message{msg(id, true, at), msg(id, false, at)} }, 2, 1, false},
			{"a first written later", func(id int64) []*core.Message { return []*core.Message{msg(id, false, at.Add(time.Second))} }, 1, 1, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var id int64
				d.write(t, func(tx core.Tx) error {
					tk := &core.Ticket{AccountID: 1, UserID: 100, Subject: c.name, Description: "text", Status: core.StatusOpen,
						Channel: core.ChannelAPI, CreatedAt: at, UpdatedAt: at}
					if err := tx.CreateTicket(ctx, tk); err != nil {
						return err
					}
					id = tk.ID
					for _, m := range c.messages(tk.ID) {
						if err := tx.CreateMessage(ctx, m); err != nil {
							return err
						}
					}
					return nil
				})
				got := d.getTicket(t, id)
				if got.MessageCount != c.count || got.PublicMessageCount != c.public {
					t.Errorf("counts %d and %d public, want %d and %d", got.MessageCount, got.PublicMessageCount, c.count, c.public)
				}
				if later := got.UpdatedAt.After(at); later != c.updatedAtLater {
					t.Errorf("updated at %v, created at %v", got.UpdatedAt, at)
				}
			})
		}
	})

	t.Run("RefusedChangesLeaveTheWriteUsable", func(t *testing.T) {
		// The port's refusals (a taken email, an inbound message seen before, a missing key or
		// ticket) change nothing, and the write can go on and commit what else it does: a
		// store whose failed statements spoil the transaction must ask first instead.
		d := newDesk(t, open, core.Options{})
		rec := core.InboundRecord{Channel: core.ChannelEmail, Key: "<seen@example.com>", Result: core.InboundRejected, At: epoch}
		d.write(t, func(tx core.Tx) error { return tx.RecordInbound(ctx, &rec) })
		d.write(t, func(tx core.Tx) error {
			err := tx.PutUser(ctx, &core.User{ID: 400, Email: "ann@acme.example", Name: "X", Role: core.RoleCustomer, CreatedAt: epoch, UpdatedAt: epoch})
			wantCode(t, "PutUser with a taken email", err, core.ECONFLICT)
			again := rec
			wantCode(t, "RecordInbound again", tx.RecordInbound(ctx, &again), core.ECONFLICT)
			wantCode(t, "DeleteAPIKey of no key", tx.DeleteAPIKey(ctx, 100, 12345), core.ENOTFOUND)
			wantCode(t, "SetTicketStatus of no ticket", tx.SetTicketStatus(ctx, 12345, core.StatusClosed, epoch), core.ENOTFOUND)
			return tx.PutAccount(ctx, &core.Account{ID: 5, Name: "After", CreatedAt: epoch, UpdatedAt: epoch})
		})
		d.read(t, func(tx core.ReadTx) error {
			if a, err := tx.Account(ctx, 5); err != nil || a.Name != "After" {
				t.Errorf("account written after the refusals: %+v, %v", a, err)
			}
			_, err := tx.User(ctx, 400)
			wantCode(t, "the refused user", err, core.ENOTFOUND)
			return nil
		})
	})

	t.Run("ReadReturnsFnsError", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		err := d.store.Read(ctx, func(core.ReadTx) error { return changeMyMind })
		if !errors.Is(err, changeMyMind) {
			t.Errorf("Read returned %v, want fn's error", err)
		}
	})

	t.Run("UseCaseFailureKeepsNothing", func(t *testing.T) {
		// A use case that fails halfway (here: the property check, after nothing else)
		// leaves no ticket, message or notification.
		d := newDesk(t, open, notifyMail)
		_, err := d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "s", Description: "d", PropertyID: 20})
		wantCode(t, "ticket with another account's property", err, core.EINVALID)
		var total int
		d.read(t, func(tx core.ReadTx) (err error) {
			_, total, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 20}})
			return
		})
		list, _ := d.store.Notifications(ctx, core.NotificationPending, 10)
		if total != 0 || len(list) != 0 {
			t.Errorf("%d tickets and %d notifications after a refused ticket, want none", total, len(list))
		}
	})

	t.Run("ConcurrentWritesEachKeepOrUndoThemselves", func(t *testing.T) {
		// However a store orders or groups concurrent writes, each one that succeeds is kept
		// whole and each one that fails leaves nothing.
		d := newDesk(t, open, core.Options{})
		const n = 32
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = d.store.Write(ctx, func(tx core.Tx) error {
					a := &core.Account{ID: int64(1000 + i), Name: "acct", CreatedAt: epoch, UpdatedAt: epoch}
					if err := tx.PutAccount(ctx, a); err != nil {
						return err
					}
					if i%2 == 1 {
						return changeMyMind
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i := range n {
			err := d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Account(ctx, int64(1000+i)); return err })
			if i%2 == 1 {
				if !errors.Is(errs[i], changeMyMind) {
					t.Errorf("write %d returned %v, want its own error", i, errs[i])
				}
				wantCode(t, "account of a failed write", err, core.ENOTFOUND)
			} else if errs[i] != nil || err != nil {
				t.Errorf("write %d: %v; its account: %v", i, errs[i], err)
			}
		}
	})

	t.Run("ConcurrentUseCases", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		const n = 20
		tickets := make([]*core.Ticket, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tickets[i], errs[i] = d.svc.CreateTicket(ctx, d.ann, core.NewTicket{AccountID: 1, Subject: "Help", Description: "d"})
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("ticket %d: %v", i, errs[i])
			}
			if seen[tickets[i].ID] {
				t.Errorf("ticket ID %d given twice", tickets[i].ID)
			}
			seen[tickets[i].ID] = true
		}
		var list []core.Ticket
		var total int
		d.read(t, func(tx core.ReadTx) (err error) {
			list, total, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 100}})
			return
		})
		if total != n {
			t.Errorf("%d tickets, want %d", total, n)
		}
		for _, tk := range list {
			if !seen[tk.ID] || tk.MessageCount != 1 {
				t.Errorf("listed ticket %d (%d messages) is none of those created", tk.ID, tk.MessageCount)
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		d := newDesk(t, open, core.Options{})
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		ran := false
		err := d.store.Write(canceled, func(tx core.Tx) error {
			ran = true
			return tx.PutAccount(ctx, &core.Account{ID: 5, Name: "x", CreatedAt: epoch, UpdatedAt: epoch})
		})
		if !errors.Is(err, context.Canceled) || ran {
			t.Errorf("Write with a canceled context: %v, fn ran %v; want context.Canceled and fn not run", err, ran)
		}
		err = d.store.Read(canceled, func(core.ReadTx) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read with a canceled context: %v, want context.Canceled", err)
		}
		err = d.store.Read(ctx, func(tx core.ReadTx) error { _, err := tx.Account(ctx, 5); return err })
		wantCode(t, "account of the canceled write", err, core.ENOTFOUND)
	})
}
