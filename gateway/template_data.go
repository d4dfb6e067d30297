package gateway

import (
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// TemplateData is what every notification template is executed with. docs/email.md lists
// its fields; a field a notification has nothing for is nil or empty, never missing, so a
// template written for one kind does not fail on another.
type TemplateData struct {
	Kind     string // the notification kind: ticket_created, new_ticket, …
	Language string // the shipped language the words are in (en, es, ru, bg)
	// Mail is set for an email, unset for a Telegram message.
	Mail bool
	// Subject is the rendered subject, for the HTML title; "" while the subject itself renders.
	Subject string
	Desk    DeskData
	Ticket  *TicketData  // nil for a notice about no ticket
	Message *MessageData // the message that caused the notification, if any
	// Customer is the ticket's customer as the notification knows them: the recipient of a
	// customer's notification, the author of a staff alert's message.
	Customer *PersonData
	// Staff is the staff member involved: the author of a staff reply, the recipient of a
	// staff alert sent to a staff user.
	Staff     *PersonData
	Recipient *PersonData // nil for a staff address of no user and the staff chat
	// ReplyMarker is gateway.ReplyMarker on mail a customer answers, "" elsewhere.
	ReplyMarker string
	// NewStatus is the status a status_changed notification announces.
	NewStatus *StatusData
	// Notice is the automatic answer of a notice.
	Notice *NoticeData
	// CloseAt is when a close_reminder's ticket closes (nil for other kinds).
	CloseAt *CloseAtData
	// SLA is the target and due time of an sla_warning (nil for other kinds).
	SLA *SLAData
	// Activity is what a ticket_activity posts in the ticket's thread (nil for other kinds).
	Activity *ActivityData
	// History holds the conversation's last public messages before Message, newest first
	// (mail only, not notices; never internal notes or hidden messages).
	History []MessageData

	// used collects the catalogue keys T looked up, for the tests' completeness check.
	used *[]string
}

// DeskData names the desk.
type DeskData struct {
	Name    string
	Address string
}

// TicketData is a ticket as notifications show it; labels are in the notification's language.
type TicketData struct {
	ID         int64
	Subject    string
	Status     string // label
	Topic      string // label
	Link       string // the panel's page of the ticket, "" for none
	Property   string
	AccountID  int64
	FollowUpOf int64 // the closed ticket this one continues, 0 for none
}

// MessageData is one message of the conversation.
type MessageData struct {
	Author string // the author's name, or what stands for it ("Customer", "Support team")
	Text   string
	Date   string // UTC, "2006-01-02 15:04 UTC"
}

// PersonData is a user.
type PersonData struct {
	Name  string
	Email string
}

// StatusData is a status: Code is core.Status.String() ("Resolved") for conditions, Label
// the word shown.
type StatusData struct {
	Code  string
	Label string
}

// NoticeData is an automatic answer: Key names which one (unknown_sender, files_refused, …;
// "other" for a text the desk does not know), Text is it in the notification's language.
type NoticeData struct {
	Key  string
	Text string
}

// T is the catalogue text of key in the data's language, formatted with args when given:
// templates write {{.T "mail.created_intro" .Ticket.ID}} ({{$.T …}} inside range or with).
func (d *TemplateData) T(key string, args ...any) string {
	if d.used != nil {
		*d.used = append(*d.used, key)
	}
	if len(args) == 0 {
		return lang.Text(d.Language, key)
	}
	return lang.Textf(d.Language, key, args...)
}

// Greeting is "Hello <name>," or, for no known name, "Hello,".
func (d *TemplateData) Greeting() string {
	if d.Recipient != nil && d.Recipient.Name != "" {
		return d.T("mail.greeting", d.Recipient.Name)
	}
	return d.T("mail.greeting_anon")
}

// DeskName is the desk's name, or "Support" in the data's language.
func (d *TemplateData) DeskName() string {
	if d.Desk.Name != "" {
		return d.Desk.Name
	}
	return d.T("mail.desk_default")
}

// historyLimit is how many earlier messages a mail quotes: enough to recall the thread,
// few enough that the new message stays what the mail is about.
const historyLimit = 3

// newTemplateData gathers what the templates of a notification are executed with.
func newTemplateData(o RenderOptions, in renderInput) *TemplateData {
	n := in.n
	language := lang.Match(o.DefaultLanguage, "")
	if in.recipient != nil {
		language = lang.Match(in.recipient.Language, o.DefaultLanguage)
	}
	d := &TemplateData{Kind: string(n.Kind), Language: language, Mail: n.Channel == core.ChannelEmail,
		Desk: DeskData{Name: o.Name, Address: o.Address}, Recipient: person(in.recipient)}
	staffAlert := n.Kind == core.NotifyNewTicket || n.Kind == core.NotifyCustomerReply || n.Kind == core.NotifySLAWarning ||
		n.Kind == core.NotifyTicketActivity
	if t := in.ticket; t != nil {
		d.Ticket = &TicketData{ID: t.ID, Subject: t.Subject, Status: lang.StatusLabel(language, int(t.Status)),
			Topic: lang.TopicLabel(language, int(t.Topic)), Property: t.PropertyName, AccountID: t.AccountID, FollowUpOf: t.FollowUpOf}
		if o.TicketLink != nil {
			d.Ticket.Link = o.TicketLink(t.ID)
		}
		if d.Mail && !staffAlert {
			// Only customers answer by mail; staff have their own marker-less alerts.
			d.ReplyMarker = ReplyMarker
		}
	}
	if in.message != nil {
		m := messageData(d, in.message, in.author)
		d.Message = &m
	}
	if staffAlert {
		if n.Kind != core.NotifyTicketActivity { // whose author is staff, or nobody
			d.Customer = person(in.author)
		}
		if in.recipient != nil && in.recipient.Role.IsStaff() {
			d.Staff = person(in.recipient)
		}
	} else {
		d.Customer = person(in.recipient)
		if n.Kind == core.NotifyStaffReply {
			d.Staff = person(in.author)
		}
	}
	if n.Kind == core.NotifyTicketActivity {
		d.Activity = activityData(d, n, in)
		if in.actor != nil && in.actor.Role.IsStaff() {
			d.Staff = person(in.actor)
		}
	}
	if n.Kind == core.NotifyStatusChanged || n.Kind == core.NotifyTicketActivity {
		d.NewStatus = &StatusData{Code: n.NewStatus.String(), Label: lang.StatusLabel(language, int(n.NewStatus))}
	}
	if n.Kind == core.NotifyCloseReminder {
		d.CloseAt = closeAtData(n)
	}
	if n.Kind == core.NotifySLAWarning {
		d.SLA = slaData(n)
	}
	if n.Kind == core.NotifyNotice || !knownKind(n.Kind) {
		key, text := localNotice(language, n.Detail)
		d.Notice = &NoticeData{Key: key, Text: text}
	}
	for _, h := range in.history {
		d.History = append(d.History, messageData(d, &h, in.authors[h.AuthorUserID]))
	}
	return d
}

func messageData(d *TemplateData, m *core.Message, author *core.User) MessageData {
	md := MessageData{Text: strings.TrimSpace(m.Body), Date: m.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	switch {
	case author != nil && author.Name != "":
		md.Author = author.Name
	case m.Author == core.AuthorCustomer && author != nil:
		md.Author = author.Email
	case m.Author == core.AuthorCustomer:
		md.Author = d.T("mail.author_customer")
	case m.Author == core.AuthorSystem:
		md.Author = d.DeskName()
	default:
		md.Author = d.T("mail.author_staff")
	}
	return md
}

func person(u *core.User) *PersonData {
	if u == nil {
		return nil
	}
	return &PersonData{Name: u.Name, Email: u.Email}
}

// earlierPublic picks a mail's history from a ticket's messages in order: the last
// historyLimit a customer may see before the message the notification is about (before
// none: the last ones), newest first.
func earlierPublic(msgs []core.Message, current int64) []core.Message {
	var out []core.Message
	for i := len(msgs) - 1; i >= 0 && len(out) < historyLimit; i-- {
		m := msgs[i]
		if !m.VisibleToCustomer() || (current != 0 && m.ID >= current) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// CustomerLabel names the customer for staff: "Name <address>", the address, or "a customer".
func (d *TemplateData) CustomerLabel() string {
	switch {
	case d.Customer == nil:
		return d.T("mail.alert_someone")
	case d.Customer.Name == "":
		return d.Customer.Email
	}
	return d.Customer.Name + " <" + d.Customer.Email + ">"
}
