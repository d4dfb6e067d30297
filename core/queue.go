package core

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// The staff queue: tickets across accounts with their staff-side state, filtered, sorted
// and searched.

// TicketWork is the staff-side state of a ticket, some of it (Favourite, Unread) as seen
// by one staff user.
type TicketWork struct {
	AssigneeUserID int64 // 0: nobody
	DepartmentID   int64 // 0: none
	DepartmentName string
	// DueAt is the due time shown: the manual deadline (SetDeadline), which overrides the
	// SLA's (TicketSLA.DueAt); zero: none.
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
	// The ticket's SLA (all zero: none): its targets' due times, its first public staff
	// reply, whether the resolution clock is paused (Resolved), and whether a target was
	// missed.
	FirstResponseDue time.Time
	FirstResponseAt  time.Time
	ResolutionDue    time.Time
	SLAPaused        bool
	Breached         bool
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
	// SortDue orders by the due time shown (TicketWork.DueAt), as SortDeadline does.
	SortDue QueueSort = "due"
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
	// Breached keeps the tickets that missed an SLA target.
	Breached bool
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
	// and created, soonest first for deadline and due. Tickets without a due time come last.
	Order string
	Page  Page
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
	var bad FieldErrors
	checkListFilter(&bad, &f.Page, f.Status, f.Topic)
	switch f.Sort {
	case "":
		f.Sort = SortUpdated
	case SortUpdated, SortCreated, SortDeadline, SortDue:
	default:
		bad.Add("sort", "must be updated, created, deadline or due")
	}
	switch f.Order {
	case "", "asc", "desc":
	default:
		bad.Add("order", "must be asc or desc")
	}
	f.Search = strings.TrimSpace(f.Search)
	if !utf8.ValidString(f.Search) {
		bad.Add("q", "must be valid UTF-8")
	} else if utf8.RuneCountInString(f.Search) > MaxSearchChars {
		bad.Add("q", atMostChars(MaxSearchChars))
	}
	if f.Unassigned && f.AssigneeUserID != nil {
		bad.Add("unassigned", "cannot be combined with assigneeUserId")
	}
	if err := bad.Err(); err != nil {
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
