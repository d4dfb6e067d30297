package core

import (
	"context"
	"time"
	"unicode/utf8"
)

// The staff side of the desk: the queue across accounts, assignment to staff
// users and departments, deadlines, favourites and read marks per staff user, moderation
// of messages (hide, edit), split and merge, and the ticket's history.

// More EventKinds: what staff do to a ticket, each a history line.
const (
	KindAssigned   EventKind = "assigned"
	KindDeadline   EventKind = "deadline"
	KindHidden     EventKind = "hidden"
	KindUnhidden   EventKind = "unhidden"
	KindEdited     EventKind = "edited"
	KindSplit      EventKind = "split"
	KindMerged     EventKind = "merged"
	KindArchived   EventKind = "archived"
	KindUnarchived EventKind = "unarchived"
)

// customerEventKinds are the history lines a customer sees; the rest are staff business.
var customerEventKinds = map[EventKind]bool{
	KindCreated: true, KindStatus: true, KindSplit: true, KindMerged: true,
	KindArchived: true, KindUnarchived: true,
}

// customerHistory keeps the history lines a customer may see.
func customerHistory(events []TicketEvent) []TicketEvent {
	out := make([]TicketEvent, 0, len(events))
	for _, e := range events {
		if customerEventKinds[e.Kind] {
			out = append(out, e)
		}
	}
	return out
}

// NotificationCanceled is a notification withdrawn before delivery: the message it was
// about was hidden from its recipient.
const NotificationCanceled NotificationState = "canceled"

// Search and queue limits.
const (
	MaxSearchChars = 200
	// DefaultSearchCap is where a search stops counting tickets: a word in one ticket of
	// eight would otherwise cost a lookup per hit, a second at a million tickets.
	DefaultSearchCap = 1000
	// DefaultSearchScan is how many of the newest matching messages a search with a filter
	// examines at most, so that a common word with a filter few tickets pass stays bounded.
	DefaultSearchScan = 2000
	// MaxListLimit caps the staff's lists of failed notifications and inbound mail.
	MaxListLimit     = 500
	DefaultListLimit = 100
)

// MessageRevision is the text a message had before an edit.
type MessageRevision struct {
	ID        int64
	MessageID int64
	Body      string
	EditedBy  int64
	EditedAt  time.Time
}

// StaffTicketDetail is a ticket as staff see it.
type StaffTicketDetail struct {
	TicketDetail
	Work TicketWork
}

func requireStaff(actor Actor) error {
	if actor.User == nil {
		return Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	if !actor.isStaff() {
		return Errorf(EFORBIDDEN, "Only staff can do this.")
	}
	return nil
}

// StaffTicket returns a ticket with every message (internal notes and hidden messages
// included), its history and its staff-side state, and marks it read for the staff user.
// Unread in the answer is the state before this read.
func (s *Service) StaffTicket(ctx context.Context, actor Actor, id int64) (*StaffTicketDetail, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var d StaffTicketDetail
	err := s.store.Read(ctx, func(tx ReadTx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: id})
		if err != nil {
			return err
		}
		d.Ticket = *t
		if d.Messages, err = tx.Messages(ctx, t.ID, true); err != nil {
			return err
		}
		if d.History, err = tx.TicketEvents(ctx, t.ID); err != nil {
			return err
		}
		w, err := tx.TicketWork(ctx, t.ID, actor.User.ID)
		if err != nil {
			return err
		}
		d.Work = *w
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d.Work.Unread {
		if err := s.setRead(ctx, actor, id, true); err != nil {
			return nil, err
		}
	}
	return &d, nil
}

// TicketWithWork returns what GetTicket returns plus the ticket's staff-side state. For a
// customer the state holds only what concerns them (department, service type, archived).
func (s *Service) TicketWithWork(ctx context.Context, actor Actor, ref TicketRef) (*TicketDetail, *TicketWork, error) {
	d, err := s.GetTicket(ctx, actor, ref)
	if err != nil {
		return nil, nil, err
	}
	var w *TicketWork
	err = s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		w, err = tx.TicketWork(ctx, d.Ticket.ID, actor.User.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if !actor.isStaff() {
		w = &TicketWork{DepartmentID: w.DepartmentID, DepartmentName: w.DepartmentName,
			ServiceType: w.ServiceType, Archived: w.Archived}
	}
	return d, w, nil
}

// PublicMessages returns the messages a customer may see, whoever loaded the detail.
func (d *TicketDetail) PublicMessages() []Message {
	out := make([]Message, 0, len(d.Messages))
	for _, m := range d.Messages {
		if m.VisibleToCustomer() {
			out = append(out, m)
		}
	}
	return out
}

// StaffReply is Reply for staff (a public reply or an internal note), after which the
// ticket counts as read for the author: they have just seen it.
func (s *Service) StaffReply(ctx context.Context, actor Actor, id int64, in NewReply) (*Message, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	m, _, err := s.Reply(ctx, actor, TicketRef{ID: id}, in)
	if err != nil {
		return nil, err
	}
	if err := s.setRead(ctx, actor, id, true); err != nil {
		return nil, err
	}
	return m, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
