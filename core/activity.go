package core

import (
	"context"
	"strconv"
	"strings"
)

// NotifyTicketActivity posts what happened on a ticket in the ticket's own thread of the
// staff chat (a Telegram forum topic): a staff reply or internal note written elsewhere, a
// status change, an assignment, a split or a merge. Together with the staff alerts (new
// ticket, customer reply, SLA warning) the thread then tells the ticket's whole story. A
// chat without threads gets none of them: such a group sees only the alerts, as it always
// did. Its Detail is FormatActivity's.
const NotifyTicketActivity NotificationKind = "ticket_activity"

// ActivityKind says what a ticket_activity post is about.
type ActivityKind string

const (
	ActivityReply      ActivityKind = "reply"       // a staff reply: MessageID
	ActivityNote       ActivityKind = "note"        // an internal note: MessageID
	ActivityStatus     ActivityKind = "status"      // a status change: NewStatus
	ActivityAssigned   ActivityKind = "assigned"    // the ticket is now User's and/or Department's (0: nobody's)
	ActivitySplitFrom  ActivityKind = "split_from"  // this ticket was split off Other
	ActivitySplitTo    ActivityKind = "split_to"    // messages of this ticket moved to Other
	ActivityMergedInto ActivityKind = "merged_into" // this ticket was merged into Other
	ActivityMergedFrom ActivityKind = "merged_from" // Other was merged into this ticket
)

// Activity is a ticket_activity's Detail: what happened, who did it (0: the desk itself),
// the other ticket of a split or merge, and the staff user and department an assignment
// gave the ticket to. The assignee and department are kept as they were then: a post sent
// after a second assignment still tells the first.
type Activity struct {
	Kind       ActivityKind
	Actor      int64
	Other      int64
	User       int64
	Department int64
}

// FormatActivity writes an Activity as a ticket_activity's Detail: "status actor=3",
// "split_from actor=3 other=12", "assigned actor=3 user=5 department=2".
func FormatActivity(a Activity) string {
	s := string(a.Kind) + " actor=" + itoa(a.Actor)
	if a.Other != 0 {
		s += " other=" + itoa(a.Other)
	}
	if a.User != 0 {
		s += " user=" + itoa(a.User)
	}
	if a.Department != 0 {
		s += " department=" + itoa(a.Department)
	}
	return s
}

// ParseActivity reads FormatActivity's text back; ok is false for anything else.
func ParseActivity(detail string) (a Activity, ok bool) {
	fields := strings.Fields(detail)
	if len(fields) == 0 {
		return Activity{}, false
	}
	a.Kind = ActivityKind(fields[0])
	switch a.Kind {
	case ActivityReply, ActivityNote, ActivityStatus, ActivityAssigned, ActivitySplitFrom, ActivitySplitTo, ActivityMergedInto, ActivityMergedFrom:
	default:
		return Activity{}, false
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return Activity{}, false
		}
		switch k {
		case "actor":
			a.Actor = n
		case "other":
			a.Other = n
		case "user":
			a.User = n
		case "department":
			a.Department = n
		default:
			return Activity{}, false
		}
	}
	return a, true
}

// postActivity queues a ticket_activity to the staff chat when its tickets have threads
// there (Notify.StaffThreads). n carries the ticket and, as its kind needs, the message or
// the new status.
//
// What a staff user wrote or assigned in the staff chat itself (actor.InStaffChat) is not
// posted: their words are there already, and the bot confirms them there ("Ticket #N is
// assigned to you."). What they wrote to the bot in a private chat is posted, as what
// they wrote in the panel is. Status changes are always posted, whoever made them: the
// post is what closes and reopens the thread with the ticket.
func (s *Service) postActivity(ctx context.Context, tx Tx, actor Actor, a Activity, n Notification) error {
	o := s.opts.Notify
	if !o.Telegram || o.StaffChatID == 0 || !o.StaffThreads {
		return nil
	}
	if (a.Kind == ActivityReply || a.Kind == ActivityNote || a.Kind == ActivityAssigned) && actor.InStaffChat {
		return nil
	}
	if actor.User != nil {
		a.Actor = actor.User.ID
	}
	n.Kind, n.Detail = NotifyTicketActivity, FormatActivity(a)
	n.Channel, n.Recipient = ChannelTelegram, strconv.FormatInt(o.StaffChatID, 10)
	return s.queue(ctx, tx, &n)
}
