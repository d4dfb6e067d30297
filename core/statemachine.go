package core

// Trigger is something that may move a ticket between statuses.
type Trigger int

const (
	TriggerCustomerReply Trigger = iota
	TriggerStaffReply
	TriggerSetInProgress
	TriggerSetResolved
	TriggerClose
)

func (e Trigger) String() string {
	switch e {
	case TriggerCustomerReply:
		return "customer reply"
	case TriggerStaffReply:
		return "staff reply"
	case TriggerSetInProgress:
		return "set In Progress"
	case TriggerSetResolved:
		return "set Resolved"
	case TriggerClose:
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
var transitions = map[Status]map[Trigger]outcome{
	StatusOpen: {
		TriggerCustomerReply: {to: StatusOpen},
		TriggerStaffReply:    {to: StatusOpen},
		TriggerSetInProgress: {to: StatusInProgress},
		TriggerSetResolved:   {to: StatusResolved},
		TriggerClose:         {to: StatusClosed},
	},
	StatusInProgress: {
		TriggerCustomerReply: {to: StatusInProgress},
		TriggerStaffReply:    {to: StatusInProgress},
		TriggerSetInProgress: {to: StatusInProgress},
		TriggerSetResolved:   {to: StatusResolved},
		TriggerClose:         {to: StatusClosed},
	},
	StatusResolved: {
		TriggerCustomerReply: {to: StatusOpen},
		TriggerStaffReply:    {to: StatusResolved},
		TriggerSetInProgress: {to: StatusInProgress},
		TriggerSetResolved:   {to: StatusResolved},
		TriggerClose:         {to: StatusClosed},
	},
	StatusClosed: {
		TriggerCustomerReply: {refuse: true},
		TriggerStaffReply:    {refuse: true},
		TriggerSetInProgress: {refuse: true},
		TriggerSetResolved:   {refuse: true},
		TriggerClose:         {to: StatusClosed},
	},
}

// Transition returns the status a ticket in status from moves to on event ev.
// staffReplyInProgress is the tickets.staff_reply_in_progress setting: a staff reply
// on an Open ticket then sets it In Progress.
//
// Returns ECONFLICT if the ticket is Closed and ev is anything but a close, and
// EINVALID for an unknown status or event.
func Transition(from Status, ev Trigger, staffReplyInProgress bool) (Status, error) {
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
	if ev == TriggerStaffReply && from == StatusOpen && staffReplyInProgress {
		return StatusInProgress, nil
	}
	return out.to, nil
}
