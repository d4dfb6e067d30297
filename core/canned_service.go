package core

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The use cases of canned replies: CRUD for staff, each change audited in its own
// transaction, and their use by a staff reply (Reply: replyBody, cannedStatus).

// CannedReplies lists the canned replies by name (staff).
func (s *Service) CannedReplies(ctx context.Context, actor Actor) ([]CannedReply, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var list []CannedReply
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		list, err = tx.CannedReplies(ctx)
		return err
	})
	return list, err
}

// CannedReply returns one canned reply (staff); ENOTFOUND if there is none.
func (s *Service) CannedReply(ctx context.Context, actor Actor, id int64) (*CannedReply, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, cannedNotFound()
	}
	var c *CannedReply
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		c, err = tx.CannedReply(ctx, id)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, cannedNotFound()
	}
	return c, err
}

// CannedReplyByName returns the canned reply with a name, in any case (staff); ENOTFOUND
// if there is none.
func (s *Service) CannedReplyByName(ctx context.Context, actor Actor, name string) (*CannedReply, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil, cannedNotFound()
	}
	var c *CannedReply
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		c, err = tx.CannedReplyByName(ctx, name)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, cannedNotFound()
	}
	return c, err
}

// nameTaken is the ECONFLICT of a name another canned reply has.
func nameTaken(ctx context.Context, tx ReadTx, name string, self int64) error {
	other, err := tx.CannedReplyByName(ctx, name)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return nil
	case err != nil:
		return err
	case other.ID == self:
		return nil
	}
	return &Error{Code: ECONFLICT, Message: "A canned reply named " + strconv.Quote(name) + " exists.",
		Fields: []FieldError{{Field: "name", Message: "is taken by canned reply " + strconv.FormatInt(other.ID, 10)}}}
}

// CreateCannedReply stores a new canned reply (staff) and writes who did it to the audit
// log in the same transaction.
//
// Returns EINVALID for a bad name, body (an unknown placeholder among others) or status,
// ECONFLICT for a name another canned reply has.
func (s *Service) CreateCannedReply(ctx context.Context, actor Actor, in NewCannedReply) (*CannedReply, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	in, err := checkCanned(in)
	if err != nil {
		return nil, err
	}
	var c CannedReply
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := nameTaken(ctx, tx, in.Name, 0); err != nil {
			return err
		}
		now := s.clock.Now()
		c = CannedReply{Name: in.Name, Body: in.Body, Status: in.Status, CreatedAt: now, UpdatedAt: now, UpdatedBy: actor.User.ID}
		if err := tx.CreateCannedReply(ctx, &c); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "canned_reply.create", cannedSubject(c.ID), "name="+c.Name)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCannedReply replaces a canned reply's name, body and status (staff), with an audit
// entry saying what changed.
//
// Returns ENOTFOUND for a missing canned reply, and the errors of CreateCannedReply.
func (s *Service) UpdateCannedReply(ctx context.Context, actor Actor, id int64, in NewCannedReply) (*CannedReply, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, cannedNotFound()
	}
	in, err := checkCanned(in)
	if err != nil {
		return nil, err
	}
	var c *CannedReply
	err = s.store.Write(ctx, func(tx Tx) error {
		old, err := tx.CannedReply(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return cannedNotFound()
		} else if err != nil {
			return err
		}
		if err := nameTaken(ctx, tx, in.Name, id); err != nil {
			return err
		}
		var changed []string
		if old.Name != in.Name {
			changed = append(changed, "name")
		}
		if old.Body != in.Body {
			changed = append(changed, "body")
		}
		if statusText(old.Status) != statusText(in.Status) {
			changed = append(changed, "status")
		}
		c = &CannedReply{ID: id, Name: in.Name, Body: in.Body, Status: in.Status, CreatedAt: old.CreatedAt,
			UpdatedAt: s.clock.Now(), UpdatedBy: actor.User.ID}
		if err := tx.UpdateCannedReply(ctx, c); err != nil {
			return err
		}
		detail := "name=" + c.Name + "; changed=" + strings.Join(changed, ",")
		if len(changed) == 0 {
			detail = "name=" + c.Name + "; changed=nothing"
		}
		return s.audit(ctx, tx, actor, "canned_reply.update", cannedSubject(id), detail)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// statusText is a canned reply's status for comparison and the audit log ("" for none).
func statusText(st *Status) string {
	if st == nil {
		return ""
	}
	return strconv.Itoa(int(*st))
}

// DeleteCannedReply removes a canned reply (staff), with an audit entry naming it.
// Replies sent with it before keep their text. Returns ENOTFOUND if there is none.
func (s *Service) DeleteCannedReply(ctx context.Context, actor Actor, id int64) error {
	if err := requireStaff(actor); err != nil {
		return err
	}
	if id <= 0 {
		return cannedNotFound()
	}
	return s.store.Write(ctx, func(tx Tx) error {
		old, err := tx.CannedReply(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return cannedNotFound()
		} else if err != nil {
			return err
		}
		if err := tx.DeleteCannedReply(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "canned_reply.delete", cannedSubject(id), "name="+old.Name)
	})
}

// checkCannedUse checks what a reply asks of a canned reply before anything is read: only
// staff use them, by a positive ID.
func checkCannedUse(actor Actor, in NewReply) error {
	switch {
	case in.CannedReplyID == 0:
		return nil
	case !actor.isStaff():
		return Errorf(EFORBIDDEN, "Only staff can send canned replies.")
	case in.CannedReplyID < 0:
		return Invalid("cannedReplyId", "must be a positive integer")
	}
	return nil
}

// replyBody is the text a reply stores: in.Body, or with in.CannedReplyID the canned
// reply filled for ticket t and the replying staff user, followed by in.Body (after a blank
// line) when that is given too. It returns the canned reply used (nil: none).
//
// Returns EINVALID naming cannedReplyId for an unknown canned reply, and naming internal
// for an internal note with a canned reply that sets a status (a note changes no status).
func (s *Service) replyBody(ctx context.Context, tx Tx, actor Actor, t *Ticket, in NewReply) (string, *CannedReply, error) {
	if in.CannedReplyID == 0 {
		return in.Body, nil, nil
	}
	c, err := tx.CannedReply(ctx, in.CannedReplyID)
	if ErrorCode(err) == ENOTFOUND {
		return "", nil, Invalid("cannedReplyId", "no such canned reply")
	} else if err != nil {
		return "", nil, err
	}
	if c.Status != nil && in.Internal {
		return "", nil, Invalid("internal", "a canned reply that sets a status cannot be an internal note")
	}
	customer, err := tx.User(ctx, t.UserID)
	if err != nil {
		return "", nil, err
	}
	body := fillPlaceholders(c.Body, map[string]string{
		PlaceholderCustomerName:  customer.Name,
		PlaceholderTicketID:      strconv.FormatInt(t.ID, 10),
		PlaceholderTicketSubject: t.Subject,
		PlaceholderStaffName:     actor.User.Name,
	})
	if strings.TrimSpace(in.Body) != "" {
		body += "\n\n" + in.Body
	}
	return body, c, nil
}

// cannedStatus sets the status a canned reply sets, if any, after the reply: a staff
// status change through the state machine, told to the customer like any other.
func (s *Service) cannedStatus(ctx context.Context, tx Tx, actor Actor, t *Ticket, c *CannedReply, at time.Time) error {
	if c == nil || c.Status == nil {
		return nil
	}
	ev, ok := statusTrigger(*c.Status)
	if !ok {
		return nil // refused on save
	}
	next, err := Transition(t.Status, ev, s.opts.StaffReplyInProgress)
	if err != nil {
		return err
	}
	return s.changeStatus(ctx, tx, actor, t, next, at, true)
}
