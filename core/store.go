package core

import (
	"context"
	"io"
	"time"
)

// Clock tells the time; tests set it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Store runs transactions. Write transactions are serialised (one writer); a Write may be
// committed together with other concurrent Writes, so fn must be quick and do no I/O of
// its own. If fn returns an error, nothing fn did is kept.
//
// fn may run more than once for one Write: a store that commits Writes together may undo
// the whole group when one of them fails and run the others again. So fn must start from
// what it reads in tx and leave nothing behind outside tx but what a later run overwrites
// (the IDs it fills in, its results); its effects count once, from the run that commits.
type Store interface {
	Read(ctx context.Context, fn func(ReadTx) error) error
	Write(ctx context.Context, fn func(Tx) error) error
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	ChangeReadTx
	AuditReadTx
	SLAReadTx
	CannedReadTx
	AutoCloseReadTx
	GDPRReadTx
	// Account returns ENOTFOUND if there is no such account.
	Account(ctx context.Context, id int64) (*Account, error)
	// User returns the user with AccountIDs filled, or ENOTFOUND.
	User(ctx context.Context, id int64) (*User, error)
	// UserByEmail matches case-insensitively; ENOTFOUND if none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByTelegramID returns the user linked to a Telegram user, or ENOTFOUND.
	UserByTelegramID(ctx context.Context, telegramID int64) (*User, error)
	// UserByAPIKeyHash returns the key's user, or ENOTFOUND for an unknown or revoked key.
	UserByAPIKeyHash(ctx context.Context, hash string) (*User, error)
	// Property returns ENOTFOUND if there is no such property.
	Property(ctx context.Context, id int64) (*Property, error)
	// Properties lists an account's properties by name.
	Properties(ctx context.Context, accountID int64) ([]Property, error)
	// Ticket returns the ticket with PropertyName filled, or ENOTFOUND.
	Ticket(ctx context.Context, id int64) (*Ticket, error)
	// Tickets lists one page of an account's tickets, newest first, and the total count.
	Tickets(ctx context.Context, f TicketFilter) ([]Ticket, int, error)
	// Messages lists a ticket's messages in order with their attachments; internal and
	// hidden ones only when asked for.
	Messages(ctx context.Context, ticketID int64, withInternal bool) ([]Message, error)
	// Message returns one message without attachments, or ENOTFOUND.
	Message(ctx context.Context, id int64) (*Message, error)
	// Attachment returns ENOTFOUND if there is no such attachment.
	Attachment(ctx context.Context, id int64) (*Attachment, error)
	// TicketEvents lists a ticket's history, oldest first.
	TicketEvents(ctx context.Context, ticketID int64) ([]TicketEvent, error)
	// Department returns ENOTFOUND if there is no such department.
	Department(ctx context.Context, id int64) (*Department, error)
	// Departments lists every department by name.
	Departments(ctx context.Context) ([]Department, error)
	// Queue lists one page of tickets across accounts for staff user f.UserID, and how many
	// tickets the filter selects (with a search, bounded as QueueFilter says).
	Queue(ctx context.Context, f QueueFilter) ([]QueueItem, QueueCount, error)
	// TicketWork returns a ticket's staff-side state as staff user userID sees it
	// (favourite, unread), or ENOTFOUND.
	TicketWork(ctx context.Context, ticketID, userID int64) (*TicketWork, error)
	// MessageRevisions lists a message's earlier texts, oldest first.
	MessageRevisions(ctx context.Context, messageID int64) ([]MessageRevision, error)
}

// Tx is a write transaction.
type Tx interface {
	ReadTx
	ChangeTx
	AuditTx
	SLATx
	GDPRTx
	CannedTx
	AutoCloseTx
	// PutAccount inserts or updates by ID.
	PutAccount(ctx context.Context, a *Account) error
	// PutUser inserts or updates by ID and replaces the memberships with u.AccountIDs.
	// Returns ECONFLICT if another user has the email, ENOTFOUND if an account is missing.
	PutUser(ctx context.Context, u *User) error
	// PutProperty inserts or updates by ID; ENOTFOUND if the account is missing.
	PutProperty(ctx context.Context, p *Property) error
	// CreateAPIKey stores k and sets its ID.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// DeleteAPIKey revokes a key of a user; ENOTFOUND if there is no such key.
	DeleteAPIKey(ctx context.Context, userID, keyID int64) error
	// CreateTicket stores t and sets its ID.
	CreateTicket(ctx context.Context, t *Ticket) error
	// CreateMessage stores m with its attachments, sets the IDs, and updates the
	// ticket's counters and UpdatedAt.
	CreateMessage(ctx context.Context, m *Message) error
	// SetTicketStatus sets a ticket's status and UpdatedAt.
	SetTicketStatus(ctx context.Context, ticketID int64, s Status, at time.Time) error
	// AddTicketEvent appends to a ticket's history and sets e.ID.
	AddTicketEvent(ctx context.Context, e *TicketEvent) error
	// AddNotification queues n in the outbox and sets n.ID.
	AddNotification(ctx context.Context, n *Notification) error
	// RecordInbound remembers a processed inbound message. Returns ECONFLICT if a message
	// with the same channel and key was recorded before.
	RecordInbound(ctx context.Context, r *InboundRecord) error
	// PutDepartment inserts or updates by ID.
	PutDepartment(ctx context.Context, d *Department) error
	// SetAssignment sets a ticket's staff user and department (0: none).
	SetAssignment(ctx context.Context, ticketID, assigneeUserID, departmentID int64) error
	// SetDeadline sets a ticket's response deadline (zero: none).
	SetDeadline(ctx context.Context, ticketID int64, due time.Time) error
	// SetFavourite adds a ticket to a user's favourites (on) or removes it.
	SetFavourite(ctx context.Context, userID, ticketID int64, on bool, at time.Time) error
	// SetRead marks every message of a ticket seen by a user (read) or none.
	SetRead(ctx context.Context, userID, ticketID int64, read bool, at time.Time) error
	// SetMessageHidden hides or shows a message and updates its ticket's public count.
	SetMessageHidden(ctx context.Context, messageID int64, hidden bool) error
	// CancelNotifications withdraws the pending notifications about a message.
	CancelNotifications(ctx context.Context, messageID int64) error
	// EditMessage keeps the message's current text as rev and stores body; description
	// says the message is its ticket's first, whose description changes with it.
	EditMessage(ctx context.Context, rev *MessageRevision, body string, description bool) error
	// MoveMessages moves the messages of ticket from with IDs from fromMessageID on (0: all)
	// to ticket to, with their attachments, updates both tickets' counters and description
	// and returns how many moved.
	MoveMessages(ctx context.Context, from, to, fromMessageID int64, at time.Time) (int, error)
	// SetMergedInto records that ticket id was merged into ticket into.
	SetMergedInto(ctx context.Context, id, into int64) error
	// SetArchived sets a ticket's archived flag.
	SetArchived(ctx context.Context, ticketID int64, archived bool) error
	// SetTicketExtras sets what a ticket is opened with besides NewTicket's core fields:
	// its department and the compatibility API's service type.
	SetTicketExtras(ctx context.Context, ticketID, departmentID int64, serviceType string) error
	// CreateTelegramLinkCode stores a one-time Telegram link code.
	CreateTelegramLinkCode(ctx context.Context, c *TelegramLinkCode) error
	// TakeTelegramLinkCode deletes the code with the hash and returns its user. Returns
	// ENOTFOUND for an unknown code or one expired at now (expired codes are deleted too).
	TakeTelegramLinkCode(ctx context.Context, hash string, now time.Time) (userID int64, err error)
	// SetTelegramID links a user to a Telegram user (0: unlinks), first unlinking any other
	// user linked to it. Returns ENOTFOUND if there is no such user.
	SetTelegramID(ctx context.Context, userID, telegramID int64) error
}

// Blobs keeps attachment bytes by content hash.
type Blobs interface {
	// Put stores what r yields and returns its hash and size. Returns ETOOLARGE, and
	// keeps nothing, as soon as more than max bytes have been read.
	Put(ctx context.Context, r io.Reader, max int64) (hash string, size int64, err error)
	// Open returns the bytes stored under hash; ENOTFOUND if there are none.
	Open(ctx context.Context, hash string) (io.ReadCloser, error)
	// Discard says that one Put of hash will never be referenced (its request failed), and
	// removes the bytes unless something may still need them: bytes are shared by content,
	// so another attachment, a kept raw mail or another upload in flight keeps them.
	Discard(ctx context.Context, hash string) error
}
