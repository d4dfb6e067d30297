package core

import "time"

// Account is a customer's billing account; its ID is the panel's.
type Account struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is a customer, a staff member or an admin; its ID is the panel's.
type User struct {
	ID    int64
	Email string // lower-cased, unique
	Name  string
	Role  Role
	// AccountIDs are the accounts the user belongs to, ascending.
	AccountIDs []int64
	// DefaultAccountID picks the account of tickets opened by mail or chat when the user
	// belongs to several; 0 means none chosen.
	DefaultAccountID int64
	// TelegramID is the linked Telegram user (0: not linked).
	TelegramID int64
	// Language is the BCP 47 tag ("es", "pt-BR") the user is written to in; "" means the
	// desk's default. Notifications and the bot fall back to English where a language has
	// no text.
	Language  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MemberOf reports whether u belongs to account id.
func (u *User) MemberOf(id int64) bool {
	for _, a := range u.AccountIDs {
		if a == id {
			return true
		}
	}
	return false
}

// Property is a site of an account; its ID is the panel's.
type Property struct {
	ID        int64
	AccountID int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Ticket is one support conversation of one account, opened by one user.
type Ticket struct {
	ID          int64
	AccountID   int64
	UserID      int64
	Subject     string
	Description string
	Topic       Topic
	Status      Status
	// PropertyID is 0 for a general question.
	PropertyID   int64
	PropertyName string // filled by reads
	// Channel is where the ticket was opened.
	Channel Channel
	// FollowUpOf names the closed ticket this one continues (0: none).
	FollowUpOf int64
	// MessageCount counts every message; PublicMessageCount only those a customer sees.
	MessageCount       int
	PublicMessageCount int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Message is one entry of a ticket's conversation; the description is the first.
type Message struct {
	ID           int64
	TicketID     int64
	AuthorUserID int64 // 0 for system messages
	Author       Author
	Channel      Channel
	Body         string
	// FullBody is the whole text as it arrived when Body holds only its new part (a mail
	// reply without its quoted history); empty when Body is all of it. Staff can always read
	// it, so a customer's words are never out of sight because a quote was cut wrongly.
	FullBody string
	// Unverified marks a message whose sender the channel could not prove: a mail neither
	// authenticated (DMARC/DKIM) nor sent to the author's own reply address. Staff see it.
	Unverified bool
	// Internal marks a staff-only note; Hidden a message hidden from the customer (kept).
	Internal    bool
	Hidden      bool
	Attachments []Attachment
	CreatedAt   time.Time
}

// VisibleToCustomer reports whether a customer may see m.
func (m *Message) VisibleToCustomer() bool { return !m.Internal && !m.Hidden }

// Attachment is a file stored with a message. Its bytes live in Blobs under Hash.
type Attachment struct {
	ID          int64
	TicketID    int64
	MessageID   int64
	FileName    string
	ContentType string
	Size        int64
	Hash        string
	CreatedAt   time.Time
}

// TicketEvent is one line of a ticket's history.
type TicketEvent struct {
	ID          int64
	TicketID    int64
	At          time.Time
	ActorUserID int64 // 0 for the system
	Kind        EventKind
	// From and To are set for status changes.
	From Status
	To   Status
	// Detail is free text, e.g. the closed ticket a follow-up continues.
	Detail string
}

// EventKind names what a TicketEvent records.
type EventKind string

const (
	KindCreated EventKind = "created"
	KindStatus  EventKind = "status"
)

// NotificationKind says why a notification is sent.
type NotificationKind string

const (
	NotifyTicketCreated NotificationKind = "ticket_created" // confirmation to the customer
	NotifyNewTicket     NotificationKind = "new_ticket"     // alert to staff
	NotifyStaffReply    NotificationKind = "staff_reply"    // to the customer
	NotifyCustomerReply NotificationKind = "customer_reply" // to staff
	NotifyStatusChanged NotificationKind = "status_changed" // to the customer
	// NotifyNotice is an automatic answer to the sender of an inbound message (a refused
	// attachment, a rejected mail); its text is in Detail.
	NotifyNotice NotificationKind = "notice"
	// NotifyCloseReminder tells the customer a quiet Resolved ticket will close; Detail is
	// the time it closes at (CloseReminderTimeFormat).
	NotifyCloseReminder NotificationKind = "close_reminder"
)

// HasNewStatus reports whether the kind of notification carries NewStatus, which the store
// keeps then.
func (n *Notification) HasNewStatus() bool {
	return n.Kind == NotifyStatusChanged || n.Kind == NotifyTicketActivity
}

// NotificationState is where a notification is in its delivery.
type NotificationState string

const (
	NotificationPending NotificationState = "pending"
	NotificationSent    NotificationState = "sent"
	NotificationFailed  NotificationState = "failed"
	NotificationBounced NotificationState = "bounced"
)

// Notification is one outbox row: one message to one recipient on one channel, written in
// the same transaction as the change that caused it.
type Notification struct {
	ID      int64
	Kind    NotificationKind
	Channel Channel
	// UserID is the recipient user (0 for a staff address or the staff chat).
	UserID int64
	// Recipient is the address: an email address, or a Telegram chat ID in decimal.
	Recipient string
	TicketID  int64 // 0 for a notice about no ticket (a rejected mail)
	MessageID int64 // 0 when no message caused it
	// NewStatus is set for NotifyStatusChanged and NotifyTicketActivity (HasNewStatus).
	NewStatus Status
	// Detail is the text of a NotifyNotice.
	Detail string
	// InReplyTo is the inbound message a notice answers (mail threading), if any.
	InReplyTo string
	// MessageRef is the channel's ID of the delivered message (our Message-ID for mail).
	MessageRef    string
	State         NotificationState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// APIKey is a stored key; the key itself is never stored, only its SHA-256.
type APIKey struct {
	ID        int64
	UserID    int64
	Hash      string
	Prefix    string // the first characters, to tell keys apart in listings
	CreatedAt time.Time
}

// Page asks for one page of a list; Number counts from 1.
type Page struct {
	Number int
	Size   int
}

// Paging limits of list endpoints.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Offset returns the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// TotalPages returns how many pages total rows make.
func (p Page) TotalPages(total int) int {
	if p.Size <= 0 {
		return 0
	}
	return (total + p.Size - 1) / p.Size
}

// TicketFilter selects tickets of one account for a list.
type TicketFilter struct {
	AccountID  int64
	Status     *Status
	Topic      *Topic
	PropertyID *int64
	// Archived lists the archived tickets instead of the others.
	Archived bool
	Page     Page
}

// Source says where an inbound message came from, so that it is applied exactly once:
// its key is recorded in the same transaction as the change it makes.
type Source struct {
	Channel Channel
	// Key is the channel's unique ID of the message (Message-ID, update ID).
	Key string
	// RawHash names the raw message kept in Blobs ("" if none).
	RawHash string
}

// InboundResult is what became of an inbound message.
type InboundResult string

const (
	InboundTicket   InboundResult = "ticket"    // a new ticket
	InboundReply    InboundResult = "reply"     // a reply on an existing ticket
	InboundFollowUp InboundResult = "follow-up" // a new ticket continuing a closed one
	InboundRejected InboundResult = "rejected"  // kept, listed for staff, nothing changed
	InboundIgnored  InboundResult = "ignored"   // a robot's mail: kept, nothing changed, nobody answered
	InboundBounce   InboundResult = "bounce"    // a delivery report
	InboundFailed   InboundResult = "failed"    // could not be processed; kept with its reason
	// InboundDuplicate is an outcome only, never stored: the message was processed before.
	InboundDuplicate InboundResult = "duplicate"
)

// InboundRecord is a processed inbound message.
type InboundRecord struct {
	Channel   Channel
	Key       string
	Result    InboundResult
	TicketID  int64
	MessageID int64
	RawHash   string
	Sender    string
	Subject   string
	Reason    string
	At        time.Time
}
