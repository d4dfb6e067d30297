package gateway

import (
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
}

// activityData reads a ticket_activity's Detail (core.FormatActivity); actor is the user
// who did it, as loaded. A Detail that does not parse (a hand-made row) is shown as a
// status post rather than failing.
func activityData(d *TemplateData, n core.Notification, actor *core.User) *ActivityData {
	a, ok := core.ParseActivity(n.Detail)
	if !ok {
		a = core.Activity{Kind: core.ActivityStatus}
	}
	out := &ActivityData{Kind: string(a.Kind), Other: a.Other}
	switch {
	case actor != nil && actor.Name != "":
		out.Actor = actor.Name
	case actor != nil:
		out.Actor = actor.Email
	case a.Actor != 0:
		out.Actor = d.T("mail.author_staff") // a user since erased
	}
	return out
}
