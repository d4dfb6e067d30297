package gateway

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// A preview renders a template with made-up data, so that an admin sees an override (and
// every language) before a customer does. The tests render the same samples.

// sampleTime is when the sample conversation happens: fixed, so a preview is the same
// every time.
var sampleTime = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// sampleInput is a notification of kind on channel with everything its templates may show:
// a ticket with a conversation of four public messages, an internal note and a hidden one
// (which no mail may quote), a customer writing in language and a staff member.
func sampleInput(kind core.NotificationKind, channel core.Channel, language string) renderInput {
	customer := &core.User{ID: 7, Email: "ann@example.com", Name: "Ann Example", Role: core.RoleCustomer, AccountIDs: []int64{3}, Language: language}
	staff := &core.User{ID: 2, Email: "sam@support.example", Name: "Sam Support", Role: core.RoleStaff, Language: language}
	t := &core.Ticket{ID: 1042, AccountID: 3, UserID: 7, Subject: "Website returns 502 errors", Topic: core.TopicNetworking,
		Status: core.StatusInProgress, Channel: core.ChannelEmail, CreatedAt: sampleTime}
	msg := func(id int64, author *core.User, a core.Author, body string, minutes int) core.Message {
		m := core.Message{ID: id, TicketID: t.ID, Author: a, Channel: core.ChannelEmail, Body: body,
			CreatedAt: sampleTime.Add(time.Duration(minutes) * time.Minute)}
		if author != nil {
			m.AuthorUserID = author.ID
		}
		return m
	}
	conv := []core.Message{
		msg(1, customer, core.AuthorCustomer, "Since this morning www.example.com answers 502 Bad Gateway.\nThe origin server itself is up.", 0),
		msg(2, staff, core.AuthorStaff, "Thank you, we are looking into it. Could you tell us the origin's IP address?", 25),
		msg(3, staff, core.AuthorStaff, "Internal: origin firewall drops our ranges?", 26),
		msg(4, customer, core.AuthorCustomer, "It is 203.0.113.10.", 40),
		msg(5, staff, core.AuthorStaff, "Hidden draft", 41),
		msg(6, staff, core.AuthorStaff, "Your origin's firewall was blocking our addresses. We have asked your host to allow them; the site answers normally again.", 70),
		msg(7, customer, core.AuthorCustomer, "Confirmed, it works again. Thanks!", 95),
	}
	conv[2].Internal, conv[4].Hidden = true, true

	n := core.Notification{ID: 1, Kind: kind, Channel: channel, TicketID: t.ID, UserID: customer.ID, Recipient: customer.Email}
	in := renderInput{ticket: t, recipient: customer}
	upTo := len(conv) // the conversation as it stands when the notification is queued
	switch kind {
	case core.NotifyTicketCreated:
		t.Status, upTo = core.StatusOpen, 1
		n.MessageID, in.message, in.author = 1, &conv[0], customer
	case core.NotifyNewTicket:
		t.Status, upTo = core.StatusOpen, 1
		n.UserID, n.Recipient = staff.ID, staff.Email
		n.MessageID, in.message, in.author, in.recipient = 1, &conv[0], customer, staff
	case core.NotifyStaffReply:
		upTo = 6
		n.MessageID, in.message, in.author = 6, &conv[5], staff
	case core.NotifyCustomerReply:
		n.UserID, n.Recipient = staff.ID, staff.Email
		n.MessageID, in.message, in.author, in.recipient = 7, &conv[6], customer, staff
	case core.NotifyStatusChanged:
		t.Status, n.NewStatus = core.StatusResolved, core.StatusResolved
	case core.NotifyCloseReminder:
		t.Status, n.Detail = core.StatusResolved, sampleTime.Add(14*24*time.Hour).Format(core.CloseReminderTimeFormat)
	case core.NotifySLAWarning:
		n.UserID, n.Recipient, in.recipient = staff.ID, staff.Email, staff
		n.Detail = core.FormatSLADetail(core.SLAFirstResponse, sampleTime.Add(4*time.Hour))
	case core.NotifyTicketActivity:
		// An internal note, posted in the ticket's topic of the staff chat.
		n.UserID, n.Recipient, in.recipient = 0, "-1001234567890", nil
		n.Detail = core.FormatActivity(core.Activity{Kind: core.ActivityNote, Actor: staff.ID})
		n.MessageID, in.message, in.author, in.actor, upTo = 3, &conv[2], staff, staff, 3
	default:
		// A notice about no ticket: the most common one, a mail from an unknown address.
		n.TicketID, n.UserID, n.Recipient = 0, 0, "someone@elsewhere.example"
		n.Detail = "We could not match your address to a customer account, so your message did not open a ticket. " +
			"Please write from the address registered in your panel, or open the ticket in the panel."
		in.ticket, in.recipient = nil, nil
	}
	in.n = n
	if channel == core.ChannelEmail && in.ticket != nil && kind != core.NotifyNotice {
		// As loadHistory reads it: the store never returns internal or hidden messages.
		var public []core.Message
		for _, m := range conv[:upTo] {
			if m.VisibleToCustomer() {
				public = append(public, m)
			}
		}
		in.history = earlierPublic(public, n.MessageID)
		in.authors = map[int64]*core.User{customer.ID: customer, staff.ID: staff}
	}
	return in
}

// Preview renders the template of notification kind name (ticket_created, …) in format
// (text, html or telegram) and language with sample data, and its subject. An unknown name,
// format or language is an EINVALID naming the field.
func (o RenderOptions) Preview(name, language, format string) (subject, body string, err error) {
	kind := core.NotificationKind(name)
	if !knownKind(kind) {
		return "", "", invalid("name", "must be one of "+joinKinds())
	}
	if !slices.Contains(Formats, format) {
		return "", "", invalid("format", "must be one of "+strings.Join(Formats, ", "))
	}
	if language == "" {
		language = lang.Match(o.DefaultLanguage, "")
	} else if !slices.Contains(lang.Supported, language) {
		return "", "", invalid("language", "must be one of "+strings.Join(lang.Supported, ", "))
	}
	// The sample notice goes to an address of no user, which gets the default language.
	o.DefaultLanguage = language
	channel := core.ChannelEmail
	if format == "telegram" {
		channel = core.ChannelTelegram
	}
	if o.TicketLink == nil {
		o.TicketLink = func(id int64) string { return "https://panel.example/support/tickets/" + strconv.FormatInt(id, 10) }
	}
	out := render(o, sampleInput(kind, channel, language))
	if format == "html" {
		return out.Subject, out.HTML, nil
	}
	return out.Subject, out.Text, nil
}

func invalid(field, msg string) error {
	return &core.Error{Code: core.EINVALID, Message: "Invalid " + field + ": " + msg + ".",
		Fields: []core.FieldError{{Field: field, Message: msg}}}
}

func joinKinds() string {
	var s []string
	for _, k := range Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}
