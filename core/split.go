package core

import (
	"context"
	"unicode/utf8"
)

// SplitTicket moves the message messageID and every later message of a ticket, with their
// attachments, into a new ticket of the same account, user, topic and property. The new
// ticket starts Open; its description is the first moved message. subject "" means
// "<old subject> (split from #N)". No customer is notified; a staff chat with a thread
// per ticket is told (ticket_activity).
//
// The message split at must be public: it becomes the new ticket's description, which the
// customer reads, and its first message, which may not be internal or hidden.
//
// Returns EINVALID for the first message (nothing would be left) or a bad subject,
// ENOTFOUND for a message not on the ticket, ECONFLICT for a Closed ticket or an internal
// note or hidden message as the split point.
func (s *Service) SplitTicket(ctx context.Context, actor Actor, id, messageID int64, subject string) (*Ticket, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	subject = oneLineField(subject)
	var bad FieldErrors
	switch {
	case utf8.RuneCountInString(subject) > MaxSubjectChars || !utf8.ValidString(subject):
		bad.Add("subject", atMostChars(MaxSubjectChars))
	case hasLineControl(subject):
		bad.Add("subject", lineControlMsg)
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	var nt *Ticket
	err := s.store.Write(ctx, func(tx Tx) error {
		t, err := loadTicket(ctx, tx, actor, TicketRef{ID: id})
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return Errorf(ECONFLICT, "Ticket is closed; no further changes are possible.")
		}
		m, err := ticketMessage(ctx, tx, t.ID, messageID)
		if err != nil {
			return err
		}
		first, err := firstMessageID(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if first == m.ID {
			return Invalid("messageId", "a ticket cannot be split at its first message")
		}
		if m.Internal || m.Hidden {
			what := "an internal note"
			if !m.Internal {
				what = "a hidden message"
			}
			return &Error{Code: ECONFLICT, Message: "Cannot split at " + what + ": it would become the new ticket's description, " +
				"which the customer reads. Split at a public message.",
				Fields: []FieldError{{Field: "messageId", Message: "a ticket cannot be split at " + what}}}
		}
		if subject == "" {
			subject = truncateRunes(t.Subject+" (split from #"+itoa(t.ID)+")", MaxSubjectChars)
		}
		now := s.clock.Now()
		nt = &Ticket{AccountID: t.AccountID, UserID: t.UserID, Subject: subject, Description: m.Body,
			Topic: t.Topic, Status: StatusOpen, PropertyID: t.PropertyID, PropertyName: t.PropertyName,
			Channel: t.Channel, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateTicket(ctx, nt); err != nil {
			return err
		}
		// A split-off ticket is a new request: its SLA counts from the split.
		if err := s.slaStart(ctx, tx, nt, 0); err != nil {
			return err
		}
		if _, err := tx.MoveMessages(ctx, t.ID, nt.ID, m.ID, now); err != nil {
			return err
		}
		events := []*TicketEvent{
			{TicketID: nt.ID, At: now, ActorUserID: actor.User.ID, Kind: KindCreated, To: StatusOpen,
				Detail: "split from #" + itoa(t.ID)},
			{TicketID: nt.ID, At: now, ActorUserID: actor.User.ID, Kind: KindSplit,
				Detail: "split from #" + itoa(t.ID) + " at message #" + itoa(m.ID)},
			{TicketID: t.ID, At: now, ActorUserID: actor.User.ID, Kind: KindSplit,
				Detail: "messages from #" + itoa(m.ID) + " on moved to #" + itoa(nt.ID)},
		}
		for _, e := range events {
			if err := tx.AddTicketEvent(ctx, e); err != nil {
				return err
			}
		}
		if err := s.addChange(ctx, tx, Change{Type: ChangeTicketCreated, At: now, AccountID: nt.AccountID, TicketID: nt.ID,
			MessageID: m.ID, Detail: "split from #" + itoa(t.ID)}); err != nil {
			return err
		}
		// The new ticket's thread opens with its description; the old one's says where the
		// rest went.
		if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivitySplitFrom, Other: t.ID}, Notification{TicketID: nt.ID, MessageID: m.ID}); err != nil {
			return err
		}
		if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivitySplitTo, Other: nt.ID}, Notification{TicketID: t.ID}); err != nil {
			return err
		}
		stored, err := tx.Ticket(ctx, nt.ID)
		if err != nil {
			return err
		}
		nt = stored
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nt, nil
}

// MergeTickets moves every message of ticket id, with its attachments, into ticket into
// of the same account, and closes id, which remembers where it went. No customer is
// notified; a staff chat with a thread per ticket is told (ticket_activity).
// Messages keep their order, so the older ticket's first message becomes the first one;
// a merge that would make an internal note or a hidden message the first is refused (a
// ticket split before that rule existed may start with one).
//
// Returns EINVALID for the same ticket twice or tickets of different accounts, ECONFLICT
// when the target is Closed, the source was merged already or the first message would not
// be public, ENOTFOUND for either ticket.
func (s *Service) MergeTickets(ctx context.Context, actor Actor, id, into int64) (*Ticket, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if id == into {
		return nil, Invalid("intoTicketId", "a ticket cannot be merged into itself")
	}
	var target *Ticket
	err := s.store.Write(ctx, func(tx Tx) error {
		src, err := loadTicket(ctx, tx, actor, TicketRef{ID: id})
		if err != nil {
			return err
		}
		dst, err := loadTicket(ctx, tx, actor, TicketRef{ID: into})
		if ErrorCode(err) == ENOTFOUND {
			return Invalid("intoTicketId", "no such ticket")
		} else if err != nil {
			return err
		}
		if src.AccountID != dst.AccountID {
			return &Error{Code: EINVALID, Message: "Invalid input: intoTicketId: only tickets of the same account can be merged",
				Fields: []FieldError{{Field: "intoTicketId", Message: "a ticket of another account"}}}
		}
		if dst.Status == StatusClosed {
			return Errorf(ECONFLICT, "Ticket #%d is closed; nothing can be merged into it.", dst.ID)
		}
		w, err := tx.TicketWork(ctx, src.ID, actor.User.ID)
		if err != nil {
			return err
		}
		if w.MergedInto != 0 {
			return Errorf(ECONFLICT, "Ticket #%d was already merged into #%d.", src.ID, w.MergedInto)
		}
		now := s.clock.Now()
		if _, err := tx.MoveMessages(ctx, src.ID, dst.ID, 0, now); err != nil {
			return err
		}
		if err := firstIsPublic(ctx, tx, dst.ID); err != nil {
			return err
		}
		if err := tx.SetMergedInto(ctx, src.ID, dst.ID); err != nil {
			return err
		}
		to, err := Transition(src.Status, TriggerClose, s.opts.StaffReplyInProgress)
		if err != nil {
			return err
		}
		// Said before the status change, whose post closes the source's thread.
		if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivityMergedInto, Other: dst.ID}, Notification{TicketID: src.ID}); err != nil {
			return err
		}
		if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivityMergedFrom, Other: src.ID}, Notification{TicketID: dst.ID}); err != nil {
			return err
		}
		if err := s.changeStatus(ctx, tx, actor, src, to, now, false); err != nil {
			return err
		}
		for _, e := range []*TicketEvent{
			{TicketID: src.ID, At: now, ActorUserID: actor.User.ID, Kind: KindMerged, Detail: "merged into #" + itoa(dst.ID)},
			{TicketID: dst.ID, At: now, ActorUserID: actor.User.ID, Kind: KindMerged, Detail: "merged from #" + itoa(src.ID)},
		} {
			if err := tx.AddTicketEvent(ctx, e); err != nil {
				return err
			}
		}
		target, err = tx.Ticket(ctx, dst.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return target, nil
}

// firstIsPublic checks the rule that a ticket's first message is public: it is the
// description the customer reads, and it is what SetMessageHidden refuses to hide.
func firstIsPublic(ctx context.Context, tx ReadTx, ticketID int64) error {
	ms, err := tx.Messages(ctx, ticketID, true)
	if err != nil || len(ms) == 0 {
		return err
	}
	if ms[0].Internal || ms[0].Hidden {
		return Errorf(ECONFLICT, "Ticket #%d would start with an internal note or a hidden message (#%d); "+
			"the first message is what the customer reads as the description.", ticketID, ms[0].ID)
	}
	return nil
}
