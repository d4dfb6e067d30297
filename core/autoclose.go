package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AutoCloseOptions are [tickets] auto_close_after and auto_close_reminder: a Resolved
// ticket whose customer has not written for After is closed, and reminded Reminder before.
type AutoCloseOptions struct {
	// After is how long a Resolved ticket waits for its customer; 0 turns auto-close off.
	After time.Duration
	// Reminder is how long before the close the customer is reminded; 0 sends none. It is
	// less than After (config validates it).
	Reminder time.Duration
}

// AutoCloseResult counts what one run of AutoClose did.
type AutoCloseResult struct {
	Reminded int
	Closed   int
}

// autoCloseBatch is how many tickets one read of a run lists: a run over many quiet
// tickets then holds no read open for long.
const autoCloseBatch = 100

// CloseReminderTimeFormat is how a close_reminder notification's Detail carries the time
// the ticket will close at.
const CloseReminderTimeFormat = time.RFC3339

// AutoClose reminds and closes the Resolved tickets whose customer has been quiet long
// enough, at the service's time; the daemon runs it every minute. Each ticket is handled in
// a write of its own that checks it again, and each step is recorded for the ticket's quiet
// period (MarkAutoClose), so a second run, on this node or another, does nothing twice.
//
// A ticket is reminded once per period, at Since + After − Reminder, and closed at
// Since + After, but never sooner than Reminder after its reminder went: a ticket found
// late (the job was stopped, or auto-close was just turned on) is reminded first and
// closed Reminder later, so no customer is closed on without warning.
//
// An error about one ticket does not stop the others; the errors are returned together.
func (s *Service) AutoClose(ctx context.Context) (AutoCloseResult, error) {
	var res AutoCloseResult
	o := s.opts.AutoClose
	if o.After <= 0 {
		return res, nil
	}
	now := s.clock.Now()
	due := now.Add(-(o.After - o.Reminder)) // quiet since then or before: something is due
	var errs []error
	for after := int64(0); ; {
		var page []QuietTicket
		err := s.store.Read(ctx, func(tx ReadTx) error {
			var err error
			page, err = tx.QuietTickets(ctx, QuietFilter{QuietSince: due, AfterID: after, Limit: autoCloseBatch})
			return err
		})
		if err != nil {
			return res, fmt.Errorf("list quiet tickets: %w", err)
		}
		for _, q := range page {
			after = q.TicketID
			step, err := s.autoCloseTicket(ctx, q.TicketID, now)
			switch {
			case ctx.Err() != nil:
				return res, ctx.Err()
			case err != nil:
				errs = append(errs, fmt.Errorf("auto-close ticket %d: %w", q.TicketID, err))
			case step == AutoCloseRemind:
				res.Reminded++
			case step == AutoCloseClose:
				res.Closed++
			}
		}
		if len(page) < autoCloseBatch {
			return res, errors.Join(errs...)
		}
	}
}

// autoCloseTicket does what is due for one ticket at now, if anything, and says what.
func (s *Service) autoCloseTicket(ctx context.Context, id int64, now time.Time) (AutoCloseStep, error) {
	o := s.opts.AutoClose
	var did AutoCloseStep
	err := s.store.Write(ctx, func(tx Tx) error {
		did = ""
		// The ticket first: a store that locks what a write reads (Postgres) then holds
		// back a customer's reply until this write is done, so the ticket is still quiet.
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if t.Status != StatusResolved {
			return nil
		}
		qs, err := tx.QuietTickets(ctx, QuietFilter{TicketID: id})
		if err != nil || len(qs) == 0 {
			return err
		}
		q := qs[0]
		if now.Before(q.Since.Add(o.After - o.Reminder)) {
			return nil
		}
		closeAt := q.Since.Add(o.After)
		if o.Reminder > 0 {
			if !q.RemindedFor.Equal(q.Since) {
				return s.remindClose(ctx, tx, t, q, later(closeAt, now.Add(o.Reminder)), now, &did)
			}
			closeAt = later(closeAt, q.RemindedAt.Add(o.Reminder))
		}
		if now.Before(closeAt) {
			return nil
		}
		return s.autoCloseNow(ctx, tx, t, q, now, &did)
	})
	return did, err
}

// remindClose queues the close reminder to the ticket's customer, once for the period.
func (s *Service) remindClose(ctx context.Context, tx Tx, t *Ticket, q QuietTicket, closeAt, now time.Time, did *AutoCloseStep) error {
	first, err := tx.MarkAutoClose(ctx, t.ID, AutoCloseRemind, q.Since, now)
	if err != nil || !first {
		return err
	}
	owner, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	*did = AutoCloseRemind
	n := Notification{Kind: NotifyCloseReminder, TicketID: t.ID, Detail: closeAt.UTC().Format(CloseReminderTimeFormat)}
	return s.notifyUser(ctx, tx, System(), owner, n)
}

// autoCloseNow closes the ticket by the state machine, with the reason in its history, and
// tells its customer as any close does (status_changed).
func (s *Service) autoCloseNow(ctx context.Context, tx Tx, t *Ticket, q QuietTicket, now time.Time, did *AutoCloseStep) error {
	to, err := Transition(t.Status, TriggerClose, s.opts.StaffReplyInProgress)
	if err != nil {
		return err
	}
	first, err := tx.MarkAutoClose(ctx, t.ID, AutoCloseClose, q.Since, now)
	if err != nil || !first {
		return err
	}
	if err := tx.SetTicketStatus(ctx, t.ID, to, now); err != nil {
		return err
	}
	// As changeStatus does, which this mirrors only to put the reason on the history line.
	if err := s.slaStatus(ctx, tx, t.ID, t.Status, to, now); err != nil {
		return err
	}
	reason := "closed automatically: no reply for " + quietFor(s.opts.AutoClose.After)
	ev := &TicketEvent{TicketID: t.ID, At: now, Kind: KindStatus, From: t.Status, To: to, Detail: reason}
	if err := tx.AddTicketEvent(ctx, ev); err != nil {
		return err
	}
	if err := s.addChange(ctx, tx, Change{Type: ChangeTicketStatusChanged, At: now, AccountID: t.AccountID, TicketID: t.ID,
		From: t.Status, To: to, Detail: reason}); err != nil {
		return err
	}
	if err := s.postActivity(ctx, tx, System(), Activity{Kind: ActivityStatus}, Notification{TicketID: t.ID, NewStatus: to}); err != nil {
		return err
	}
	owner, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	*did = AutoCloseClose
	return s.notifyUser(ctx, tx, System(), owner, Notification{Kind: NotifyStatusChanged, TicketID: t.ID, NewStatus: to})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// quietFor says a quiet time as the history shows it: whole days as days ("14 days"),
// anything else as a Go duration ("36h0m0s").
func quietFor(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
