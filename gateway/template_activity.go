package gateway

import (
	"strconv"

	"github.com/helpdeskd/helpdeskd/core"
)

// ActivityData is what a ticket_activity posts in the ticket's thread of the staff chat.
type ActivityData struct {
	// Kind is core.ActivityKind: reply, note, status, split_from, split_to, merged_into,
	// merged_from.
	Kind string
	// Actor names who did it: a user's name (or address), "" for the desk itself (an
	// automatic close).
	Actor string
	// Other is the other ticket of a split or merge (0 for other kinds).
	Other int64
	// Assignee and Department are whom an assignment gave the ticket to: a staff user's
	// name and a department's name, "" for none (both "": nobody's now).
	Assignee, Department string
}

// activityData reads a ticket_activity's Detail (core.FormatActivity) with the users and
// department it names, as loaded. A Detail that does not parse (a hand-made row) is shown
// as a status post rather than failing.
func activityData(d *TemplateData, n core.Notification, in renderInput) *ActivityData {
	a, ok := core.ParseActivity(n.Detail)
	if !ok {
		a = core.Activity{Kind: core.ActivityStatus}
	}
	out := &ActivityData{Kind: string(a.Kind), Other: a.Other, Actor: staffName(d, in.actor, a.Actor != 0)}
	if a.Kind == core.ActivityAssigned {
		out.Assignee = staffName(d, in.assignee, a.User != 0)
		switch {
		case in.department != nil:
			out.Department = in.department.Name
		case a.Department != 0:
			out.Department = "#" + strconv.FormatInt(a.Department, 10) // deleted since
		}
	}
	return out
}

// staffName names a staff user u for a post: their name, else their address; named says
// the post names one, so a user since erased (nil) is "the support team".
func staffName(d *TemplateData, u *core.User, named bool) string {
	switch {
	case u != nil && u.Name != "":
		return u.Name
	case u != nil:
		return u.Email
	case named:
		return d.T("mail.author_staff")
	}
	return ""
}
