package core

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Moderation of a ticket's messages by staff: hiding, editing with revisions, and the audit
// history.

// ticketMessage loads a message of a ticket; ENOTFOUND if it is not on that ticket.
func ticketMessage(ctx context.Context, tx ReadTx, ticketID, messageID int64) (*Message, error) {
	m, err := tx.Message(ctx, messageID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && m.TicketID != ticketID) {
		return nil, Errorf(ENOTFOUND, "Message not found.")
	}
	return m, err
}

// firstMessageID returns the ID of a ticket's first message (its description).
func firstMessageID(ctx context.Context, tx ReadTx, ticketID int64) (int64, error) {
	ms, err := tx.Messages(ctx, ticketID, true)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[0].ID, nil
}

// SetMessageHidden hides a message from the customer or shows it again. The message is
// kept; the customer's counts follow; notifications about it still waiting in the outbox
// are withdrawn. The first message is the ticket's description and cannot be hidden (edit
// it instead).
func (s *Service) SetMessageHidden(ctx context.Context, actor Actor, ticketID, messageID int64, hidden bool) (*Message, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var m *Message
	err := s.store.Write(ctx, func(tx Tx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: ticketID})
		if err != nil {
			return err
		}
		if m, err = ticketMessage(ctx, tx, t.ID, messageID); err != nil {
			return err
		}
		if m.Hidden == hidden {
			return nil
		}
		if hidden {
			first, err := firstMessageID(ctx, tx, t.ID)
			if err != nil {
				return err
			}
			if first == m.ID {
				return &Error{Code: EINVALID, Message: "The first message is the ticket's description and cannot be hidden; edit it instead.",
					Fields: []FieldError{{Field: "messageId", Message: "the ticket's description cannot be hidden"}}}
			}
		}
		if err := tx.SetMessageHidden(ctx, m.ID, hidden); err != nil {
			return err
		}
		if hidden {
			if err := tx.CancelNotifications(ctx, m.ID); err != nil {
				return err
			}
			if err := s.addChange(ctx, tx, Change{Type: ChangeMessageHidden, AccountID: t.AccountID, TicketID: t.ID,
				MessageID: m.ID, Internal: m.Internal}); err != nil {
				return err
			}
		}
		kind := KindUnhidden
		if hidden {
			kind = KindHidden
		}
		m.Hidden = hidden
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: s.clock.Now(), ActorUserID: actor.User.ID,
			Kind: kind, Detail: "message #" + itoa(m.ID)})
	})
	if err != nil {
		return nil, err
	}
	return s.reloadMessage(ctx, ticketID, messageID)
}

func (s *Service) reloadMessage(ctx context.Context, ticketID, messageID int64) (*Message, error) {
	var out *Message
	err := s.store.Read(ctx, func(tx ReadTx) error {
		ms, err := tx.Messages(ctx, ticketID, true)
		if err != nil {
			return err
		}
		for i := range ms {
			if ms[i].ID == messageID {
				out = &ms[i]
				return nil
			}
		}
		return Errorf(ENOTFOUND, "Message not found.")
	})
	return out, err
}

// EditMessage replaces a message's text; the previous text is kept as a revision. Editing
// the first message edits the ticket's description too.
func (s *Service) EditMessage(ctx context.Context, actor Actor, ticketID, messageID int64, body string) (*Message, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if strings.TrimSpace(body) == "" {
		return nil, Invalid("message", "must not be empty")
	}
	if !utf8.ValidString(body) {
		return nil, Invalid("message", "must be valid UTF-8")
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: ticketID})
		if err != nil {
			return err
		}
		m, err := ticketMessage(ctx, tx, t.ID, messageID)
		if err != nil {
			return err
		}
		if m.Body == body {
			return nil
		}
		first, err := firstMessageID(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := tx.EditMessage(ctx, &MessageRevision{MessageID: m.ID, Body: m.Body, EditedBy: actor.User.ID, EditedAt: now},
			body, first == m.ID); err != nil {
			return err
		}
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: now, ActorUserID: actor.User.ID,
			Kind: KindEdited, Detail: "message #" + itoa(m.ID)})
	})
	if err != nil {
		return nil, err
	}
	return s.reloadMessage(ctx, ticketID, messageID)
}

// MessageRevisions lists the earlier texts of a message, oldest first.
func (s *Service) MessageRevisions(ctx context.Context, actor Actor, ticketID, messageID int64) ([]MessageRevision, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var list []MessageRevision
	err := s.store.Read(ctx, func(tx ReadTx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: ticketID})
		if err != nil {
			return err
		}
		if _, err := ticketMessage(ctx, tx, t.ID, messageID); err != nil {
			return err
		}
		list, err = tx.MessageRevisions(ctx, messageID)
		return err
	})
	return list, err
}

// History returns a ticket's audit history, oldest first: every line for staff.
func (s *Service) History(ctx context.Context, actor Actor, id int64) ([]TicketEvent, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	var list []TicketEvent
	err := s.store.Read(ctx, func(tx ReadTx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: id})
		if err != nil {
			return err
		}
		list, err = tx.TicketEvents(ctx, t.ID)
		return err
	})
	return list, err
}
