package core

import (
	"context"
	"strings"
	"time"
)

// What staff change on a ticket besides its messages: assignee and department, deadline,
// their own favourites and read marks.

// staffWrite runs fn on a ticket staff may change, then reads the ticket's new state.
func (s *Service) staffWrite(ctx context.Context, actor Actor, id int64, fn func(tx Tx, t *Ticket, now time.Time) error) (*QueueItem, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var item *QueueItem
	err := s.store.Write(ctx, func(tx Tx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: id})
		if err != nil {
			return err
		}
		if err := fn(tx, t, s.clock.Now()); err != nil {
			return err
		}
		item, err = queueItem(ctx, tx, actor, t.ID)
		return err
	})
	return item, err
}

// Assign gives a ticket to a staff user and/or a department; 0 clears either. It replaces
// both at once.
//
// Returns EINVALID for a user who is not staff or a department that does not exist.
func (s *Service) Assign(ctx context.Context, actor Actor, id, assigneeUserID, departmentID int64) (*QueueItem, error) {
	if assigneeUserID < 0 || departmentID < 0 {
		var bad FieldErrors
		if assigneeUserID < 0 {
			bad.Add("assigneeUserId", "must be a positive integer")
		}
		if departmentID < 0 {
			bad.Add("departmentId", "must be a positive integer")
		}
		return nil, bad.Err()
	}
	return s.staffWrite(ctx, actor, id, func(tx Tx, t *Ticket, now time.Time) error {
		var detail []string
		if assigneeUserID != 0 {
			u, err := tx.User(ctx, assigneeUserID)
			if ErrorCode(err) == ENOTFOUND || (err == nil && !u.Role.IsStaff()) {
				return Invalid("assigneeUserId", "not a staff user")
			} else if err != nil {
				return err
			}
			detail = append(detail, "user #"+itoa(u.ID)+" ("+u.Name+")")
		}
		if departmentID != 0 {
			d, err := tx.Department(ctx, departmentID)
			if ErrorCode(err) == ENOTFOUND {
				return Invalid("departmentId", "no such department")
			} else if err != nil {
				return err
			}
			detail = append(detail, "department #"+itoa(d.ID)+" ("+d.Name+")")
		}
		if len(detail) == 0 {
			detail = []string{"nobody"}
		}
		if err := tx.SetAssignment(ctx, t.ID, assigneeUserID, departmentID); err != nil {
			return err
		}
		if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivityAssigned, User: assigneeUserID, Department: departmentID},
			Notification{TicketID: t.ID}); err != nil {
			return err
		}
		if err := s.addChange(ctx, tx, Change{Type: ChangeTicketAssigned, At: now, AccountID: t.AccountID, TicketID: t.ID,
			AssigneeUserID: assigneeUserID, DepartmentID: departmentID}); err != nil {
			return err
		}
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: now, ActorUserID: actor.User.ID,
			Kind: KindAssigned, Detail: "assigned to " + strings.Join(detail, " and ")})
	})
}

// SetDeadline sets when a response is due (zero time clears it).
func (s *Service) SetDeadline(ctx context.Context, actor Actor, id int64, due time.Time) (*QueueItem, error) {
	return s.staffWrite(ctx, actor, id, func(tx Tx, t *Ticket, now time.Time) error {
		if err := tx.SetDeadline(ctx, t.ID, due); err != nil {
			return err
		}
		detail := "deadline cleared"
		if !due.IsZero() {
			detail = "response due " + due.UTC().Format(time.RFC3339)
		}
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: now, ActorUserID: actor.User.ID,
			Kind: KindDeadline, Detail: detail})
	})
}

// SetFavourite adds a ticket to the staff user's favourites or takes it out.
func (s *Service) SetFavourite(ctx context.Context, actor Actor, id int64, on bool) (*QueueItem, error) {
	return s.staffWrite(ctx, actor, id, func(tx Tx, t *Ticket, now time.Time) error {
		return tx.SetFavourite(ctx, actor.User.ID, t.ID, on, now)
	})
}

// SetRead marks a ticket read (every message seen) or unread for the staff user.
func (s *Service) SetRead(ctx context.Context, actor Actor, id int64, read bool) (*QueueItem, error) {
	return s.staffWrite(ctx, actor, id, func(tx Tx, t *Ticket, now time.Time) error {
		return tx.SetRead(ctx, actor.User.ID, t.ID, read, now)
	})
}

func (s *Service) setRead(ctx context.Context, actor Actor, id int64, read bool) error {
	return s.store.Write(ctx, func(tx Tx) error {
		return tx.SetRead(ctx, actor.User.ID, id, read, s.clock.Now())
	})
}
