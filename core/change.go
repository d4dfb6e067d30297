package core

import (
	"context"
	"time"
)

// ChangeType names what a Change says happened. The names are the webhook event types and
// the change feed's.
type ChangeType string

const (
	ChangeTicketCreated       ChangeType = "ticket.created"
	ChangeTicketStatusChanged ChangeType = "ticket.status_changed"
	ChangeTicketAssigned      ChangeType = "ticket.assigned"
	ChangeMessageCreated      ChangeType = "message.created"
	ChangeMessageHidden       ChangeType = "message.hidden"
	// ChangeNotificationFailed is written by the outbox when a notification is given up.
	ChangeNotificationFailed ChangeType = "notification.failed"
	// ChangeInboundRejected is written by the inbound store when a message is rejected.
	ChangeInboundRejected ChangeType = "inbound.rejected"
)

// ChangeTypes lists every ChangeType, in the order the documentation gives them.
func ChangeTypes() []ChangeType {
	return []ChangeType{ChangeTicketCreated, ChangeTicketStatusChanged, ChangeTicketAssigned,
		ChangeMessageCreated, ChangeMessageHidden, ChangeNotificationFailed, ChangeInboundRejected}
}

// Valid reports whether t is a known change type.
func (t ChangeType) Valid() bool {
	for _, c := range ChangeTypes() {
		if c == t {
			return true
		}
	}
	return false
}

// StaffOnly reports whether changes of type t concern staff alone: a customer's feed never
// has them.
func (t ChangeType) StaffOnly() bool {
	switch t {
	case ChangeMessageHidden, ChangeNotificationFailed, ChangeInboundRejected, ChangeTicketAssigned:
		return true
	}
	return false
}

// Change is one row of the change log: what happened to a ticket (or to a mail or a
// notification), written in the same transaction as the change itself, so a crash never
// loses one. Webhook deliveries are queued from it in that transaction too, and the change
// feed reads it in ID order.
type Change struct {
	ID int64
	// Seq is the change's place in the feed: changes are numbered in the order they
	// committed (an ID is taken before the commit, and writes commit in any order). 0 until
	// numbered; a store numbers a change by the time a feed read that could see it returns.
	Seq       int64
	Type      ChangeType
	At        time.Time
	AccountID int64 // 0: none (a rejected mail from nobody known)
	TicketID  int64 // 0: none
	MessageID int64 // the message created or hidden; 0: none
	// Internal says the change is staff-only: an internal note's message.created. A
	// customer's feed leaves these out, and every StaffOnly type.
	Internal bool
	// From and To are set for ticket.status_changed.
	From, To Status
	// AssigneeUserID and DepartmentID are set for ticket.assigned (0: none).
	AssigneeUserID, DepartmentID int64
	// Detail is free text: the notification's channel and error, the rejection's reason.
	Detail string
}

// ChangeFilter selects a page of the change log.
type ChangeFilter struct {
	// After is the Seq of the last change the reader has; only later changes are listed,
	// in Seq order.
	After int64
	// AccountID, when set, keeps the changes of that account's tickets.
	AccountID int64
	// Public leaves out what a customer may not see: StaffOnly types, internal changes, and
	// message.created of a message that is internal or hidden now.
	Public bool
	Limit  int
}

// addChange writes c to the change log in tx, at the service's time unless set.
func (s *Service) addChange(ctx context.Context, tx Tx, c Change) error {
	if c.At.IsZero() {
		c.At = s.clock.Now()
	}
	ct, ok := tx.(ChangeTx)
	if !ok {
		return nil // transitional: removed once every store implements ChangeTx
	}
	return ct.AddChange(ctx, &c)
}

// MaxChangePage is the most changes one page of the feed answers.
const MaxChangePage = 500

// Changes lists changes after f.After in order: every change for staff, a customer's own
// account's public changes for a customer (f.AccountID required, f.Public forced).
//
// Returns EINVALID for a bad filter, ENOTFOUND/EFORBIDDEN as checkAccount does.
func (s *Service) Changes(ctx context.Context, actor Actor, f ChangeFilter) ([]Change, error) {
	var bad FieldErrors
	if f.After < 0 {
		bad.Add("after", "must not be negative")
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > MaxChangePage {
		bad.Add("limit", "must be between 1 and "+itoa(MaxChangePage))
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if !actor.isStaff() || f.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, f.AccountID); err != nil {
			return nil, err
		}
	}
	if !actor.isStaff() {
		f.Public = true
	}
	var out []Change
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Changes(ctx, f)
		return err
	})
	return out, err
}

// ChangeView is a change with what it is about as it is now: its ticket and message (nil
// when it has none, or they are gone).
type ChangeView struct {
	Change
	Ticket  *Ticket
	Message *Message
}

// ViewChanges loads the ticket and message of each change in one read, each ticket's
// messages once. It checks no access: the changes were selected for their reader (Changes)
// or are delivered to the desk's own webhooks.
func (s *Service) ViewChanges(ctx context.Context, changes []Change) ([]ChangeView, error) {
	out := make([]ChangeView, len(changes))
	err := s.store.Read(ctx, func(tx ReadTx) error {
		tickets := map[int64]*Ticket{}
		messages := map[int64][]Message{}
		for i, c := range changes {
			out[i].Change = c
			if c.TicketID == 0 {
				continue
			}
			t, ok := tickets[c.TicketID]
			if !ok {
				var err error
				if t, err = tx.Ticket(ctx, c.TicketID); err != nil && ErrorCode(err) != ENOTFOUND {
					return err
				}
				tickets[c.TicketID] = t
			}
			out[i].Ticket = t
			if c.MessageID == 0 || t == nil {
				continue
			}
			ms, ok := messages[c.TicketID]
			if !ok {
				var err error
				if ms, err = tx.Messages(ctx, c.TicketID, true); err != nil {
					return err
				}
				messages[c.TicketID] = ms
			}
			for j := range ms {
				if ms[j].ID == c.MessageID {
					out[i].Message = &ms[j]
				}
			}
		}
		return nil
	})
	return out, err
}
