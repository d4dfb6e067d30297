package core

import (
	"context"
	"time"
)

// GDPRReadTx reads what a data export gathers about a user besides their tickets.
type GDPRReadTx interface {
	// UserTicketIDs lists the tickets the user opened, ascending.
	UserTicketIDs(ctx context.Context, userID int64) ([]int64, error)
	// AuthoredTicketIDs lists the tickets with a message the user wrote, ascending.
	AuthoredTicketIDs(ctx context.Context, userID int64) ([]int64, error)
	// UserNotifications lists the outbox rows to the user or to address, in ID order.
	UserNotifications(ctx context.Context, userID int64, address string) ([]Notification, error)
	// UserInbound lists the inbound records sent from address (case-insensitively) or that
	// made a message of the user, oldest first.
	UserInbound(ctx context.Context, userID int64, address string) ([]InboundRecord, error)
}

// Erasure says whose personal data EraseUser removes and what takes its place.
type Erasure struct {
	UserID int64
	// Email and TelegramID are the user's before the erasure: rows naming them go too.
	Email      string
	TelegramID int64
	// Name and Placeholder are what the user row keeps: a name and an address that say
	// nothing about the person.
	Name, Placeholder string
	// Scrub rewrites a free text of the user's tickets, messages, notifications, inbound
	// records and change log without the user's name and address.
	Scrub func(string) string
	At    time.Time
}

// GDPRTx erases a user and purges what the retention keeps no longer. The bytes behind the
// hashes these return are removed after the commit (BlobRemover), when nothing else names
// them.
type GDPRTx interface {
	GDPRReadTx
	// EraseUser replaces the user's name and address with e's placeholders, unlinks
	// Telegram, revokes the API keys, deletes the attachments of the messages they wrote
	// and the raw mails of their inbound records, and scrubs (e.Scrub) the free texts that
	// may name them; the texts and messages themselves stay. It returns the blob hashes no
	// longer referenced by the rows it changed. ENOTFOUND if there is no such user.
	EraseUser(ctx context.Context, e Erasure) (hashes []string, err error)
	// PurgeRawMails forgets the raw mail of up to limit inbound records received before
	// before and returns their hashes.
	PurgeRawMails(ctx context.Context, before time.Time, limit int) ([]string, error)
	// PurgeRejected deletes up to limit rejected inbound records received before before and
	// returns how many it deleted and the raw mails' hashes they named.
	PurgeRejected(ctx context.Context, before time.Time, limit int) (int, []string, error)
}

// BlobRemover is a Blobs that can remove bytes at once, for an erasure or the retention:
// Remove deletes what is stored under hash unless a committed row still references it. It
// does not wait for StagingGrace, as Discard and the sweep do: erased bytes must go now.
type BlobRemover interface {
	Remove(ctx context.Context, hash string) error
}

// FileScrubber is a Store whose files may keep deleted data until told otherwise (SQLite's
// WAL and free pages): ScrubFiles makes data deleted by committed writes unreadable from
// the store's files.
type FileScrubber interface {
	ScrubFiles(ctx context.Context) error
}
