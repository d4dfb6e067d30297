package core

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// The staff side of the desk (SPEC §4.2): the queue across accounts, assignment to staff
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

// Department is a team tickets can be assigned to; its ID is the panel's.
type Department struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TicketWork is the staff-side state of a ticket, some of it (Favourite, Unread) as seen
// by one staff user.
type TicketWork struct {
	AssigneeUserID int64 // 0: nobody
	DepartmentID   int64 // 0: none
	DepartmentName string
	// DueAt is the response deadline (zero: none).
	DueAt    time.Time
	Archived bool
	// MergedInto names the ticket this one was merged into (0: none).
	MergedInto  int64
	ServiceType string
	UserName    string // the opener's name
	Favourite   bool
	Unread      bool
	// WaitingSince is when the oldest customer message not yet answered by a public staff
	// reply was written (zero: nobody is waiting).
	WaitingSince time.Time
}

// Overdue reports whether the deadline has passed while the ticket still needs staff.
func (w *TicketWork) Overdue(status Status, now time.Time) bool {
	return !w.DueAt.IsZero() && w.DueAt.Before(now) && (status == StatusOpen || status == StatusInProgress)
}

// Waiting returns how long the customer has been waiting for an answer at now (0: not
// waiting). A Resolved or Closed ticket waits for nobody.
func (w *TicketWork) Waiting(status Status, now time.Time) time.Duration {
	if w.WaitingSince.IsZero() || (status != StatusOpen && status != StatusInProgress) || now.Before(w.WaitingSince) {
		return 0
	}
	return now.Sub(w.WaitingSince)
}

// QueueItem is one row of the staff queue.
type QueueItem struct {
	Ticket Ticket
	Work   TicketWork
}

// QueueSort orders the staff queue.
type QueueSort string

const (
	SortUpdated  QueueSort = "updated"
	SortCreated  QueueSort = "created"
	SortDeadline QueueSort = "deadline"
)

// QueueFilter selects tickets across accounts for the staff queue. Pointer fields are
// filters when set; the booleans narrow when true.
type QueueFilter struct {
	// UserID is the staff user asking: Favourite and Unread are theirs.
	UserID int64
	// Now is the reference time for Overdue.
	Now            time.Time
	Status         *Status
	Topic          *Topic
	AccountID      *int64
	PropertyID     *int64 // 0: tickets without a property
	AssigneeUserID *int64
	DepartmentID   *int64
	Archived       *bool
	Unassigned     bool // no staff user assigned
	Unread         bool
	Favourite      bool
	Overdue        bool
	// Search is free text matched against subjects and messages: every word must occur.
	Search string
	// SearchCap and SearchScan bound a search (Service fills them from Options): it takes
	// the matching tickets newest matching message first, with a filter among the tickets of
	// the SearchScan newest matching messages only, and stops at SearchCap+1 tickets. When it
	// stops early the count is capped (QueueCount) and the pages reach only the first
	// SearchCap tickets. Without a search they do nothing.
	SearchCap  int
	SearchScan int
	Sort       QueueSort
	// Order is "asc" or "desc"; "" is the sort's natural order: newest first for updated
	// and created, soonest first for deadline. Tickets without a deadline come last.
	Order string
	Page  Page
}

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

// PutDepartment creates or updates a department under the panel's ID (admins).
func (s *Service) PutDepartment(ctx context.Context, actor Actor, d Department) (*Department, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad fieldErrors
	checkID(&bad, "id", d.ID)
	d.Name = checkName(&bad, "name", d.Name)
	if err := bad.err(); err != nil {
		return nil, err
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		now := s.clock.Now()
		d.CreatedAt, d.UpdatedAt = now, now
		return tx.PutDepartment(ctx, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Departments lists the departments by name. Anyone signed in may read them: customers
// pick one when they open a ticket through the compatibility API.
func (s *Service) Departments(ctx context.Context, actor Actor) ([]Department, error) {
	if actor.User == nil {
		return nil, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	var list []Department
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		list, err = tx.Departments(ctx)
		return err
	})
	return list, err
}

// QueueCount is how many tickets a queue query selected. Capped says a search stopped
// counting (QueueFilter.SearchCap, SearchScan): N tickets match, and more may.
type QueueCount struct {
	N      int
	Capped bool
}

// freshSearcher is a Store whose search index may trail its commits for a moment; a
// search asks it to catch up first, so that it finds what was just written.
type freshSearcher interface {
	FreshSearch(ctx context.Context) error
}

// Queue returns one page of tickets across accounts for staff, and their count.
//
// Returns EFORBIDDEN for a customer, EINVALID for a bad filter.
func (s *Service) Queue(ctx context.Context, actor Actor, f QueueFilter) ([]QueueItem, QueueCount, error) {
	if err := requireStaff(actor); err != nil {
		return nil, QueueCount{}, err
	}
	var bad fieldErrors
	checkListFilter(&bad, &f.Page, f.Status, f.Topic)
	switch f.Sort {
	case "":
		f.Sort = SortUpdated
	case SortUpdated, SortCreated, SortDeadline:
	default:
		bad.add("sort", "must be updated, created or deadline")
	}
	switch f.Order {
	case "", "asc", "desc":
	default:
		bad.add("order", "must be asc or desc")
	}
	f.Search = strings.TrimSpace(f.Search)
	if !utf8.ValidString(f.Search) {
		bad.add("q", "must be valid UTF-8")
	} else if utf8.RuneCountInString(f.Search) > MaxSearchChars {
		bad.add("q", "must be at most 200 characters")
	}
	if f.Unassigned && f.AssigneeUserID != nil {
		bad.add("unassigned", "cannot be combined with assigneeUserId")
	}
	if err := bad.err(); err != nil {
		return nil, QueueCount{}, err
	}
	f.UserID = actor.User.ID
	f.Now = s.clock.Now()
	f.SearchCap, f.SearchScan = s.opts.SearchCap, s.opts.SearchScan
	if fs, ok := s.base.(freshSearcher); ok && f.Search != "" {
		if err := fs.FreshSearch(ctx); err != nil {
			return nil, QueueCount{}, err
		}
	}
	var list []QueueItem
	var total QueueCount
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		list, total, err = tx.Queue(ctx, f)
		return err
	})
	return list, total, err
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

// queueItem reads a ticket and its state for the answer of a staff change.
func queueItem(ctx context.Context, tx ReadTx, actor Actor, id int64) (*QueueItem, error) {
	t, err := tx.Ticket(ctx, id)
	if err != nil {
		return nil, err
	}
	w, err := tx.TicketWork(ctx, id, actor.User.ID)
	if err != nil {
		return nil, err
	}
	return &QueueItem{Ticket: *t, Work: *w}, nil
}

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
		var bad fieldErrors
		if assigneeUserID < 0 {
			bad.add("assigneeUserId", "must be a positive integer")
		}
		if departmentID < 0 {
			bad.add("departmentId", "must be a positive integer")
		}
		return nil, bad.err()
	}
	return s.staffWrite(ctx, actor, id, func(tx Tx, t *Ticket, now time.Time) error {
		var detail []string
		if assigneeUserID != 0 {
			u, err := tx.User(ctx, assigneeUserID)
			if ErrorCode(err) == ENOTFOUND || (err == nil && !u.Role.IsStaff()) {
				return &Error{Code: EINVALID, Message: "Invalid input: assigneeUserId: not a staff user",
					Fields: []string{"assigneeUserId: not a staff user"}}
			} else if err != nil {
				return err
			}
			detail = append(detail, "user #"+itoa(u.ID)+" ("+u.Name+")")
		}
		if departmentID != 0 {
			d, err := tx.Department(ctx, departmentID)
			if ErrorCode(err) == ENOTFOUND {
				return &Error{Code: EINVALID, Message: "Invalid input: departmentId: no such department",
					Fields: []string{"departmentId: no such department"}}
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

// Archive moves a Closed ticket out of the customer's default list (archived true) or
// back. Customers of the account and staff may do it.
//
// Returns ECONFLICT for a ticket that is not Closed, ENOTFOUND for one the actor may not see.
func (s *Service) Archive(ctx context.Context, actor Actor, ref TicketRef, archived bool) (*Ticket, error) {
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
		if archived && t.Status != StatusClosed {
			return Errorf(ECONFLICT, "Only a closed ticket can be archived.")
		}
		w, err := tx.TicketWork(ctx, t.ID, actor.User.ID)
		if err != nil {
			return err
		}
		if w.Archived == archived {
			return nil
		}
		if err := tx.SetArchived(ctx, t.ID, archived); err != nil {
			return err
		}
		kind := KindUnarchived
		if archived {
			kind = KindArchived
		}
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: s.clock.Now(), ActorUserID: actor.User.ID, Kind: kind})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ticketExtras stores a new ticket's department and service type.
func (s *Service) ticketExtras(ctx context.Context, tx Tx, ticketID, departmentID int64, serviceType string) error {
	if departmentID < 0 {
		return &Error{Code: EINVALID, Message: "Invalid input: departmentId: must be a positive integer", Fields: []string{"departmentId: must be a positive integer"}}
	}
	if departmentID != 0 {
		if _, err := tx.Department(ctx, departmentID); ErrorCode(err) == ENOTFOUND {
			return &Error{Code: EINVALID, Message: "Invalid input: departmentId: no such department", Fields: []string{"departmentId: no such department"}}
		} else if err != nil {
			return err
		}
	}
	serviceType = strings.TrimSpace(serviceType)
	if utf8.RuneCountInString(serviceType) > MaxNameChars || !utf8.ValidString(serviceType) {
		return &Error{Code: EINVALID, Message: "Invalid input: serviceType: must be at most 200 characters", Fields: []string{"serviceType: must be at most 200 characters"}}
	}
	return tx.SetTicketExtras(ctx, ticketID, departmentID, serviceType)
}
