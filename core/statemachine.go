package core

// Event is something that may move a ticket between statuses.
type Event int

const (
	EventCustomerReply Event = iota
	EventStaffReply
	EventSetInProgress
	EventSetResolved
	EventClose
)

func (e Event) String() string {
	switch e {
	case EventCustomerReply:
		return "customer reply"
	case EventStaffReply:
		return "staff reply"
	case EventSetInProgress:
		return "set In Progress"
	case EventSetResolved:
		return "set Resolved"
	case EventClose:
		return "close"
	}
	return "unknown event"
}

// outcome of one cell of the transition table.
type outcome struct {
	to     Status
	refuse bool // Closed is locked
}

// transitions is the state machine's table (docs/contract.md §2), cell by cell. A cell whose target equals its source is a
// no-op (nothing recorded); the "—" cells of the spec (asking for the status the ticket
// already has) are no-ops too, so a repeated click is harmless.
var transitions = map[Status]map[Event]outcome{
	StatusOpen: {
		EventCustomerReply: {to: StatusOpen},
		EventStaffReply:    {to: StatusOpen},
		EventSetInProgress: {to: StatusInProgress},
		EventSetResolved:   {to: StatusResolved},
		EventClose:         {to: StatusClosed},
	},
	StatusInProgress: {
		EventCustomerReply: {to: StatusInProgress},
		EventStaffReply:    {to: StatusInProgress},
		EventSetInProgress: {to: StatusInProgress},
		EventSetResolved:   {to: StatusResolved},
		EventClose:         {to: StatusClosed},
	},
	StatusResolved: {
		EventCustomerReply: {to: StatusOpen},
		EventStaffReply:    {to: StatusResolved},
		EventSetInProgress: {to: StatusInProgress},
		EventSetResolved:   {to: StatusResolved},
		EventClose:         {to: StatusClosed},
	},
	StatusClosed: {
		EventCustomerReply: {refuse: true},
		EventStaffReply:    {refuse: true},
		EventSetInProgress: {refuse: true},
		EventSetResolved:   {refuse: true},
		EventClose:         {to: StatusClosed},
	},
}

// Transition returns the status a ticket in status from moves to on event ev.
// staffReplyInProgress is the tickets.staff_reply_in_progress setting: a staff reply
// on an Open ticket then sets it In Progress.
//
// Returns ECONFLICT if the ticket is Closed and ev is anything but a close, and
// EINVALID for an unknown status or event.
func Transition(from Status, ev Event, staffReplyInProgress bool) (Status, error) {
	row, ok := transitions[from]
	if !ok {
		return from, Errorf(EINVALID, "Unknown status %d.", int(from))
	}
	out, ok := row[ev]
	if !ok {
		return from, Errorf(EINVALID, "Unknown event %d.", int(ev))
	}
	if out.refuse {
		return from, Errorf(ECONFLICT, "Ticket is closed; no further changes are possible.")
	}
	if ev == EventStaffReply && from == StatusOpen && staffReplyInProgress {
		return StatusInProgress, nil
	}
	return out.to, nil
}
