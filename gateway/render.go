package gateway

import (
	"fmt"
	"strconv"
	"strings"

	"helpdeskd/core"
)

// RenderOptions are what notifications say about the desk.
type RenderOptions struct {
	// Address and Name are the support address and its display name.
	Address string
	Name    string
	// Secret keys reply tokens; nil means Reply-To is the plain support address.
	Secret []byte
	// TicketLink returns the panel link of a ticket ("" for none).
	TicketLink func(id int64) string
}

// renderInput is what a notification is rendered from.
type renderInput struct {
	n         core.Notification
	ticket    *core.Ticket  // nil for a notice about no ticket
	message   *core.Message // the message that caused it, if any
	recipient *core.User    // nil for staff addresses and the staff chat
	author    *core.User    // the message's author, if any
	origin    string        // Message-ID of the mail that opened the ticket, if any
}

// render builds the Outgoing for a notification.
func render(o RenderOptions, in renderInput) Outgoing {
	n := in.n
	out := Outgoing{NotificationID: n.ID, Kind: n.Kind, Channel: n.Channel, TicketID: n.TicketID, To: n.Recipient,
		AutoSubmitted: "auto-generated"}
	var b strings.Builder
	mail := n.Channel == core.ChannelEmail
	t := in.ticket
	if mail && t != nil && n.Kind != core.NotifyNewTicket && n.Kind != core.NotifyCustomerReply {
		// Only customers answer by mail; staff have their own marker-less alerts.
		b.WriteString(ReplyMarker + "\n\n")
	}
	greet := func() {
		if in.recipient != nil && in.recipient.Name != "" {
			fmt.Fprintf(&b, "Hello %s,\n\n", in.recipient.Name)
		}
	}
	body := ""
	if in.message != nil {
		body = in.message.Body
	}
	switch n.Kind {
	case core.NotifyTicketCreated:
		out.Subject = tag(t) + t.Subject
		greet()
		if t.FollowUpOf != 0 {
			fmt.Fprintf(&b, "Ticket #%d is closed, so your message opened this new ticket #%d.\n\n", t.FollowUpOf, t.ID)
		} else {
			fmt.Fprintf(&b, "we received your request and opened ticket #%d.\n\n", t.ID)
		}
		fmt.Fprintf(&b, "Subject: %s\nStatus: %s\n", t.Subject, t.Status.Label())
		if mail {
			b.WriteString("\nReply to this mail to add to the ticket.\n")
		}
	case core.NotifyStaffReply:
		out.Subject = tag(t) + t.Subject
		greet()
		who := "Support"
		if in.author != nil && in.author.Name != "" {
			who = in.author.Name
		}
		fmt.Fprintf(&b, "%s replied to ticket #%d:\n\n%s\n", who, t.ID, body)
	case core.NotifyStatusChanged:
		out.Subject = tag(t) + t.Subject
		greet()
		fmt.Fprintf(&b, "Ticket #%d is now %s.\n", t.ID, n.NewStatus.Label())
		switch n.NewStatus {
		case core.StatusResolved:
			b.WriteString("If the problem is not solved, just reply and the ticket opens again.\n")
		case core.StatusClosed:
			b.WriteString("The ticket is closed and takes no more replies; a reply opens a new ticket.\n")
		}
	case core.NotifyNewTicket:
		out.Subject = tag(t) + "New ticket: " + t.Subject
		fmt.Fprintf(&b, "New ticket #%d from %s (account %d), topic %s.\n\n%s\n", t.ID, who(in.author), t.AccountID, t.Topic.Label(), body)
	case core.NotifyCustomerReply:
		out.Subject = tag(t) + "Customer reply: " + t.Subject
		fmt.Fprintf(&b, "%s replied to ticket #%d (%s):\n\n%s\n", who(in.author), t.ID, t.Status.Label(), body)
	case core.NotifyNotice:
		out.AutoSubmitted = "auto-replied"
		if t != nil {
			out.Subject = tag(t) + t.Subject
		} else {
			out.Subject = "Your message to " + nonEmpty(o.Name, "support")
		}
		greet()
		b.WriteString(n.Detail + "\n")
	default:
		out.Subject = "Notification"
		b.WriteString(n.Detail + "\n")
	}
	if t != nil && o.TicketLink != nil {
		if link := o.TicketLink(t.ID); link != "" {
			fmt.Fprintf(&b, "\nView the ticket: %s\n", link)
		}
	}
	if mail {
		fmt.Fprintf(&b, "\n-- \n%s\n", nonEmpty(o.Name, "Support"))
	}
	out.Text = b.String()
	out.Subject = oneLine(out.Subject)

	if mail {
		domain := domainOf(o.Address)
		out.MessageID = n.MessageRef
		if out.MessageID == "" {
			out.MessageID = NotificationMessageID(n.ID, domain)
		}
		var refs []string
		if in.origin != "" {
			refs = append(refs, in.origin)
		}
		if t != nil {
			refs = append(refs, ThreadRoot(t.ID, domain))
			if o.Secret != nil {
				out.ReplyTo = ReplyAddress(o.Address, o.Secret, t.ID, recipientID(in))
			}
		}
		if n.InReplyTo != "" && n.InReplyTo != in.origin {
			refs = append(refs, n.InReplyTo)
		}
		if len(refs) > 0 {
			out.References = refs
			out.InReplyTo = refs[len(refs)-1]
		}
	} else if t != nil && n.Kind != core.NotifyNotice {
		id := strconv.FormatInt(t.ID, 10)
		out.Actions = []Action{{Label: "Reply", Data: "reply:" + id}}
		if t.Status != core.StatusClosed {
			out.Actions = append(out.Actions, Action{Label: "Close", Data: "close:" + id})
		}
	}
	return out
}

// recipientID is the user a notification goes to: its own recipient, or the user whose
// address a staff alert is sent to; 0 for an address of no user.
func recipientID(in renderInput) int64 {
	if in.recipient != nil {
		return in.recipient.ID
	}
	return in.n.UserID
}

// NotificationMessageID is the Message-ID of notification id.
func NotificationMessageID(id int64, domain string) string {
	return "helpdeskd.n" + strconv.FormatInt(id, 10) + "@" + domain
}

func tag(t *core.Ticket) string { return "[#" + strconv.FormatInt(t.ID, 10) + "] " }

func who(u *core.User) string {
	if u == nil {
		return "a customer"
	}
	if u.Name == "" {
		return u.Email
	}
	return u.Name + " <" + u.Email + ">"
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// oneLine keeps header values on one line whatever a subject holds.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == 0 }), " ")
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}
