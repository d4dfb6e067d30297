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
type Store interface {
	Read(ctx context.Context, fn func(ReadTx) error) error
	Write(ctx context.Context, fn func(Tx) error) error
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
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
}

// Tx is a write transaction.
type Tx interface {
	ReadTx
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
}

// Blobs keeps attachment bytes by content hash.
type Blobs interface {
	// Put stores what r yields and returns its hash and size. Returns ETOOLARGE, and
	// keeps nothing, as soon as more than max bytes have been read.
	Put(ctx context.Context, r io.Reader, max int64) (hash string, size int64, err error)
	// Open returns the bytes stored under hash; ENOTFOUND if there are none.
	Open(ctx context.Context, hash string) (io.ReadCloser, error)
}
