package core

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Ticket field limits.
const (
	MaxSubjectChars  = 200
	MaxFileNameChars = 255
)

// NewTicket is the input of CreateTicket.
type NewTicket struct {
	AccountID   int64
	Subject     string
	Description string
	Topic       Topic
	PropertyID  int64
	Files       []FileRef
	// FollowUpOf names a closed ticket this one continues (0: none).
	FollowUpOf int64
	// DepartmentID routes the ticket to a department (0: none); ServiceType is the
	// compatibility API's service kind.
	DepartmentID int64
	ServiceType  string
	// Source, when set, makes the creation happen at most once per inbound message.
	Source *Source
	// Unverified: the channel could not prove the sender (Message.Unverified).
	Unverified bool
	// TellSender, when set, is queued as a notice to the actor on the channel it came from
	// (e.g. which attachment was refused and why).
	TellSender string
	// MaxSubjectChars is the longest subject accepted; 0 means MaxSubjectChars. The
	// compatibility API promises its clients longer subjects than the panel's.
	MaxSubjectChars int
}

// subjectLimit is in.MaxSubjectChars, or the package's limit when unset.
func (in *NewTicket) subjectLimit() int {
	if in.MaxSubjectChars > 0 {
		return in.MaxSubjectChars
	}
	return MaxSubjectChars
}

// CreateTicket opens a ticket for the actor in an account they belong to (staff: any).
// The description becomes the first message. The customer's confirmation and the staff
// alert are queued in the same transaction.
//
// Returns EINVALID for a bad field ("Invalid property" for a property of another account),
// EFORBIDDEN for an account the actor does not belong to, ENOTFOUND for a missing account.
func (s *Service) CreateTicket(ctx context.Context, actor Actor, in NewTicket) (*Ticket, error) {
	var bad FieldErrors
	subject := oneLineField(in.Subject)
	switch n := utf8.RuneCountInString(subject); {
	case n == 0:
		bad.Add("subject", "must not be empty")
	case n > in.subjectLimit():
		bad.Add("subject", atMostChars(in.subjectLimit()))
	case !utf8.ValidString(subject):
		bad.Add("subject", "must be valid UTF-8")
	case hasLineControl(subject):
		bad.Add("subject", lineControlMsg)
	}
	if strings.TrimSpace(in.Description) == "" {
		bad.Add("description", "must not be empty")
	} else if !utf8.ValidString(in.Description) {
		bad.Add("description", "must be valid UTF-8")
	}
	if !in.Topic.Valid() {
		bad.Add("topic", topicRange)
	}
	if in.PropertyID < 0 {
		bad.Add("propertyId", "must be a positive integer")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if err := s.checkAccount(ctx, actor, in.AccountID); err != nil {
		return nil, err
	}

	now := s.clock.Now()
	t := &Ticket{
		AccountID:   in.AccountID,
		UserID:      actor.User.ID,
		Subject:     subject,
		Description: in.Description,
		Topic:       in.Topic,
		Status:      StatusOpen,
		PropertyID:  in.PropertyID,
		Channel:     actor.Channel,
		FollowUpOf:  in.FollowUpOf,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		if in.PropertyID != 0 {
			p, err := tx.Property(ctx, in.PropertyID)
			if ErrorCode(err) == ENOTFOUND || (err == nil && p.AccountID != in.AccountID) {
				return &Error{Code: EINVALID, Message: "Invalid property",
					Fields: []FieldError{{Field: "propertyId", Message: "not a property of this account"}}}
			} else if err != nil {
				return err
			}
			t.PropertyName = p.Name
		}
		if err := tx.CreateTicket(ctx, t); err != nil {
			return err
		}
		if in.DepartmentID != 0 || in.ServiceType != "" {
			if err := s.ticketExtras(ctx, tx, t.ID, in.DepartmentID, in.ServiceType); err != nil {
				return err
			}
		}
		if err := s.slaStart(ctx, tx, t, in.DepartmentID); err != nil {
			return err
		}
		m := &Message{TicketID: t.ID, AuthorUserID: actor.User.ID, Author: authorOf(actor),
			Channel: actor.Channel, Body: in.Description, Unverified: in.Unverified, CreatedAt: now,
			Attachments: attachmentsOf(in.Files, now)}
		if err := tx.CreateMessage(ctx, m); err != nil {
			return err
		}
		ev := &TicketEvent{TicketID: t.ID, At: now, ActorUserID: actor.User.ID, Kind: KindCreated, To: StatusOpen}
		if in.FollowUpOf != 0 {
			ev.Detail = "follow-up of #" + itoa(in.FollowUpOf)
		}
		if err := tx.AddTicketEvent(ctx, ev); err != nil {
			return err
		}
		if err := s.addChange(ctx, tx, Change{Type: ChangeTicketCreated, At: now, AccountID: t.AccountID, TicketID: t.ID, MessageID: m.ID}); err != nil {
			return err
		}
		t.MessageCount, t.PublicMessageCount = 1, 1
		if err := s.recordSource(ctx, tx, in.Source, InboundTicket, t.ID, m.ID); err != nil {
			return err
		}
		if err := s.tellSender(ctx, tx, actor, t.ID, in.Source, in.TellSender); err != nil {
			return err
		}
		n := Notification{TicketID: t.ID, MessageID: m.ID}
		n.Kind = NotifyTicketCreated
		if err := s.notifyUser(ctx, tx, actor, actor.User, n); err != nil {
			return err
		}
		n.Kind = NotifyNewTicket
		return s.notifyStaff(ctx, tx, n)
	})
	if err != nil {
		return nil, err
	}
	if s.opts.Observer != nil {
		s.opts.Observer.TicketCreated(actor.Channel)
	}
	return t, nil
}

// checkAccount allows a member of the account, or staff when the account exists.
func (s *Service) checkAccount(ctx context.Context, actor Actor, accountID int64) error {
	if actor.User == nil {
		return Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	if accountID <= 0 {
		return &Error{Code: EINVALID, Message: "Invalid input: accountId must be a positive integer",
			Fields: []FieldError{{Field: "accountId", Message: "must be a positive integer"}}}
	}
	if actor.User.MemberOf(accountID) {
		return nil
	}
	if !actor.isStaff() {
		return Errorf(EFORBIDDEN, "You do not have access to account %d.", accountID)
	}
	return s.store.Read(ctx, func(tx ReadTx) error {
		_, err := tx.Account(ctx, accountID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "Account %d not found.", accountID)
		}
		return err
	})
}

// TicketRef names a ticket as a caller sees it: scoped to AccountID when the caller
// works within one account (the REST API), or to whatever the actor may see (0).
type TicketRef struct {
	ID        int64
	AccountID int64
}

// loadTicket returns the ticket if the actor may see it. A ticket outside the scope is
// "not found", never "forbidden", so that IDs cannot be probed.
func loadTicket(ctx context.Context, tx ReadTx, actor Actor, ref TicketRef) (*Ticket, error) {
	notFound := Errorf(ENOTFOUND, "Ticket not found.")
	if ref.ID <= 0 {
		return nil, notFound
	}
	t, err := tx.Ticket(ctx, ref.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if ref.AccountID != 0 && t.AccountID != ref.AccountID {
		return nil, notFound
	}
	if !actor.canSee(t.AccountID) {
		return nil, notFound
	}
	return t, nil
}

// TicketDetail is a ticket with its conversation and history as the actor may see them.
type TicketDetail struct {
	Ticket   Ticket
	Messages []Message
	History  []TicketEvent
}

// GetTicket returns a ticket with its messages; internal and hidden messages only for
// staff. Returns ENOTFOUND for a ticket the actor may not see.
func (s *Service) GetTicket(ctx context.Context, actor Actor, ref TicketRef) (*TicketDetail, error) {
	if ref.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, ref.AccountID); err != nil {
			return nil, err
		}
	}
	var d TicketDetail
	err := s.store.Read(ctx, func(tx ReadTx) error {
		t, err := loadTicket(ctx, tx, actor, ref)
		if err != nil {
			return err
		}
		d.Ticket = *t
		if d.Messages, err = tx.Messages(ctx, t.ID, actor.isStaff()); err != nil {
			return err
		}
		d.History, err = tx.TicketEvents(ctx, t.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !actor.isStaff() {
		d.Ticket.MessageCount = d.Ticket.PublicMessageCount
		d.History = customerHistory(d.History)
	}
	return &d, nil
}

// ListTickets returns one page of an account's tickets, newest first, and the total.
func (s *Service) ListTickets(ctx context.Context, actor Actor, f TicketFilter) ([]Ticket, int, error) {
	var bad FieldErrors
	checkListFilter(&bad, &f.Page, f.Status, f.Topic)
	if err := bad.Err(); err != nil {
		return nil, 0, err
	}
	if err := s.checkAccount(ctx, actor, f.AccountID); err != nil {
		return nil, 0, err
	}
	var list []Ticket
	var total int
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		list, total, err = tx.Tickets(ctx, f)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if !actor.isStaff() {
		for i := range list {
			list[i].MessageCount = list[i].PublicMessageCount
		}
	}
	return list, total, nil
}

// NewReply is the input of Reply.
type NewReply struct {
	Body string
	// FullBody is the whole text the reply was cut from, when Body is less (Message.FullBody).
	FullBody string
	// Unverified: the channel could not prove the sender (Message.Unverified).
	Unverified bool
	Files      []FileRef
	// Internal makes a staff-only note (staff only).
	Internal bool
	// CannedReplyID sends a canned reply filled for the ticket (staff only); Body, when
	// given too, follows it after a blank line.
	CannedReplyID int64
	// Source and TellSender as for NewTicket.
	Source     *Source
	TellSender string
}

// Reply adds a message to a ticket. A customer's reply reopens a Resolved ticket; a staff
// reply may set an Open one In Progress (tickets.staff_reply_in_progress). Customer replies
// alert staff; public staff replies notify the ticket's user.
//
// Returns EINVALID for an empty body, ENOTFOUND for a ticket the actor may not see,
// ECONFLICT for a Closed ticket, EFORBIDDEN for a customer's internal note.
func (s *Service) Reply(ctx context.Context, actor Actor, ref TicketRef, in NewReply) (*Message, *Ticket, error) {
	if strings.TrimSpace(in.Body) == "" && len(in.Files) == 0 && in.CannedReplyID == 0 {
		return nil, nil, Invalid("message", "must not be empty")
	}
	if !utf8.ValidString(in.Body) {
		return nil, nil, Invalid("message", "must be valid UTF-8")
	}
	if in.Internal && !actor.isStaff() {
		return nil, nil, Errorf(EFORBIDDEN, "Only staff can write internal notes.")
	}
	if err := checkCannedUse(actor, in); err != nil {
		return nil, nil, err
	}
	if ref.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, ref.AccountID); err != nil {
			return nil, nil, err
		}
	}
	staff := actor.isStaff()
	var m *Message
	var t *Ticket
	var breaches []SLATarget // of the run that commits
	err := s.store.Write(ctx, func(tx Tx) error {
		breaches = nil
		var err error
		if t, err = loadTicket(ctx, tx, actor, ref); err != nil {
			return err
		}
		ev := TriggerCustomerReply
		if staff {
			ev = TriggerStaffReply
		}
		to, err := Transition(t.Status, ev, s.opts.StaffReplyInProgress)
		if err != nil {
			return err
		}
		body, canned, err := s.replyBody(ctx, tx, actor, t, in)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		m = &Message{TicketID: t.ID, AuthorUserID: actor.User.ID, Author: authorOf(actor),
			Channel: actor.Channel, Body: body, FullBody: in.FullBody, Unverified: in.Unverified, Internal: in.Internal, CreatedAt: now,
			Attachments: attachmentsOf(in.Files, now)}
		if err := tx.CreateMessage(ctx, m); err != nil {
			return err
		}
		if err := s.addChange(ctx, tx, Change{Type: ChangeMessageCreated, At: now, AccountID: t.AccountID, TicketID: t.ID,
			MessageID: m.ID, Internal: in.Internal}); err != nil {
			return err
		}
		if err := s.recordSource(ctx, tx, in.Source, InboundReply, t.ID, m.ID); err != nil {
			return err
		}
		if err := s.tellSender(ctx, tx, actor, t.ID, in.Source, in.TellSender); err != nil {
			return err
		}
		if staff {
			kind := ActivityReply
			if in.Internal {
				kind = ActivityNote
			}
			if err := s.postActivity(ctx, tx, actor, Activity{Kind: kind}, Notification{TicketID: t.ID, MessageID: m.ID}); err != nil {
				return err
			}
		}
		if in.Internal {
			// A note changes nothing the customer sees: no status change, no notification.
			return nil
		}
		if err := s.changeStatus(ctx, tx, actor, t, to, now, false); err != nil {
			return err
		}
		n := Notification{TicketID: t.ID, MessageID: m.ID}
		if staff {
			if breaches, err = s.slaFirstResponse(ctx, tx, t.ID, now); err != nil {
				return err
			}
			owner, err := tx.User(ctx, t.UserID)
			if err != nil {
				return err
			}
			n.Kind = NotifyStaffReply
			if err := s.notifyUser(ctx, tx, actor, owner, n); err != nil {
				return err
			}
			// A canned reply's status comes after the reply, as if staff set it next.
			return s.cannedStatus(ctx, tx, actor, t, canned, now)
		}
		n.Kind = NotifyCustomerReply
		return s.notifyStaff(ctx, tx, n)
	})
	if err != nil {
		return nil, nil, err
	}
	s.slaBreached(breaches)
	return m, t, nil
}

// changeStatus records a status change and, when notify is set, tells the ticket's user.
// It does nothing when the status stays the same.
func (s *Service) changeStatus(ctx context.Context, tx Tx, actor Actor, t *Ticket, to Status, at time.Time, notify bool) error {
	if t.Status == to {
		return nil
	}
	if err := tx.SetTicketStatus(ctx, t.ID, to, at); err != nil {
		return err
	}
	if err := s.slaStatus(ctx, tx, t.ID, t.Status, to, at); err != nil {
		return err
	}
	ev := &TicketEvent{TicketID: t.ID, At: at, ActorUserID: actor.User.ID, Kind: KindStatus, From: t.Status, To: to}
	if err := tx.AddTicketEvent(ctx, ev); err != nil {
		return err
	}
	if err := s.addChange(ctx, tx, Change{Type: ChangeTicketStatusChanged, At: at, AccountID: t.AccountID, TicketID: t.ID,
		From: t.Status, To: to}); err != nil {
		return err
	}
	t.Status, t.UpdatedAt = to, at
	if err := s.postActivity(ctx, tx, actor, Activity{Kind: ActivityStatus}, Notification{TicketID: t.ID, NewStatus: to}); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	owner, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	return s.notifyUser(ctx, tx, actor, owner, Notification{Kind: NotifyStatusChanged, TicketID: t.ID, NewStatus: to})
}

// Close closes a ticket; closing a Closed ticket changes nothing. The ticket's user is told
// unless they closed it themselves.
func (s *Service) Close(ctx context.Context, actor Actor, ref TicketRef) (*Ticket, error) {
	return s.SetStatus(ctx, actor, ref, StatusClosed)
}

// SetStatus moves a ticket by the state machine. Customers may only close.
//
// Returns EFORBIDDEN for a customer setting In Progress or Resolved, ECONFLICT for a
// Closed ticket, EINVALID for Open or an unknown status, ENOTFOUND for a ticket the
// actor may not see.
func (s *Service) SetStatus(ctx context.Context, actor Actor, ref TicketRef, to Status) (*Ticket, error) {
	var ev Trigger
	switch to {
	case StatusInProgress:
		ev = TriggerSetInProgress
	case StatusResolved:
		ev = TriggerSetResolved
	case StatusClosed:
		ev = TriggerClose
	default:
		return nil, &Error{Code: EINVALID, Message: "Invalid input: status: must be 1 (In Progress), 2 (Resolved) or 3 (Closed)",
			Fields: []FieldError{{Field: "status", Message: "must be 1, 2 or 3"}}}
	}
	if ev != TriggerClose && !actor.isStaff() {
		return nil, Errorf(EFORBIDDEN, "Only staff can set a ticket %s.", to.Label())
	}
	if ref.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, ref.AccountID); err != nil {
			return nil, err
		}
	}
	var t *Ticket
	err := s.store.Write(ctx, func(tx Tx) error {
		var err error
		if t, err = loadTicket(ctx, tx, actor, ref); err != nil {
			return err
		}
		next, err := Transition(t.Status, ev, s.opts.StaffReplyInProgress)
		if err != nil {
			return err
		}
		return s.changeStatus(ctx, tx, actor, t, next, s.clock.Now(), true)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Properties lists an account's properties.
func (s *Service) Properties(ctx context.Context, actor Actor, accountID int64) ([]Property, error) {
	if err := s.checkAccount(ctx, actor, accountID); err != nil {
		return nil, err
	}
	var ps []Property
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		ps, err = tx.Properties(ctx, accountID)
		return err
	})
	return ps, err
}

func authorOf(a Actor) Author {
	if a.isStaff() {
		return AuthorStaff
	}
	return AuthorCustomer
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// recordSource records an inbound message as applied; ECONFLICT if it was before, which
// undoes the whole change.
func (s *Service) recordSource(ctx context.Context, tx Tx, src *Source, result InboundResult, ticketID, messageID int64) error {
	if src == nil {
		return nil
	}
	err := tx.RecordInbound(ctx, &InboundRecord{Channel: src.Channel, Key: src.Key, Result: result,
		TicketID: ticketID, MessageID: messageID, RawHash: src.RawHash, At: s.clock.Now()})
	if ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Message: "Message already processed.", Fields: []FieldError{duplicateSource}}
	}
	return err
}

// duplicateSource marks the ECONFLICT of an inbound message applied before.
var duplicateSource = FieldError{Field: "source", Message: "already processed"}

// IsDuplicate reports whether err says an inbound message was applied before.
func IsDuplicate(err error) bool {
	for _, f := range ErrorFields(err) {
		if f == duplicateSource {
			return true
		}
	}
	return false
}

// tellSender queues a notice to the actor on the channel their message came through.
func (s *Service) tellSender(ctx context.Context, tx Tx, actor Actor, ticketID int64, src *Source, text string) error {
	if text == "" || actor.User == nil {
		return nil
	}
	n := Notification{Kind: NotifyNotice, TicketID: ticketID, UserID: actor.User.ID, Detail: text, Channel: actor.Channel}
	if src != nil {
		n.InReplyTo = src.Key
	}
	switch actor.Channel {
	case ChannelEmail:
		if !s.opts.Notify.Email {
			return nil
		}
		n.Recipient = actor.User.Email
	case ChannelTelegram:
		if !s.opts.Notify.Telegram || actor.User.TelegramID == 0 {
			return nil
		}
		n.Recipient = strconv.FormatInt(actor.User.TelegramID, 10)
	default:
		return nil
	}
	return s.queue(ctx, tx, &n)
}

// checkListFilter fills in the page defaults and checks the fields every ticket list
// shares: the page and the status and topic filters.
func checkListFilter(bad *FieldErrors, page *Page, status *Status, topic *Topic) {
	if page.Number == 0 {
		page.Number = 1
	}
	if page.Size == 0 {
		page.Size = DefaultPageSize
	}
	if page.Number < 1 {
		bad.Add("pageNumber", "must be at least 1")
	}
	if page.Size < 1 || page.Size > MaxPageSize {
		bad.Add("pageSize", "must be from 1 to 100")
	}
	if status != nil && !status.Valid() {
		bad.Add("status", "must be an integer from 0 to 3")
	}
	if topic != nil && !topic.Valid() {
		bad.Add("topic", topicRange)
	}
}
