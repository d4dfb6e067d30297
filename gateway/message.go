package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Inbound is one message that arrived on a channel, already decoded by its adapter.
type Inbound struct {
	Channel core.Channel
	// Key identifies the message for deduplication: the Message-ID for mail (without angle
	// brackets), "sha256:<hex>" of the raw message where it has none, the update ID for chat.
	Key string
	// From is the sender's address, lower-cased (mail).
	From string
	// TelegramUserID is the sender's Telegram user (chat).
	TelegramUserID int64
	// To lists every recipient address we saw (To, Cc, Delivered-To, X-Original-To),
	// lower-cased; reply tokens and topic_by_address are looked up here.
	To []string
	// Subject as decoded (RFC 2047), UTF-8.
	Subject string
	// Text is the whole body as UTF-8 plain text (HTML-only mail already converted), quoted
	// history and all: a new ticket keeps it, and staff can always read it.
	Text string
	// Visible is what the sender wrote anew when the message answers a ticket: Text without
	// the quoted history and signature, as the channel's adapter found them. Empty means
	// the whole Text is new (a chat message).
	Visible string
	// InReplyTo and References hold message IDs without angle brackets.
	InReplyTo  []string
	References []string
	// Automatic is set when a robot sent it: a header only robots write (Auto-Submitted
	// other than "no", Precedence bulk/junk/list, List-*, X-Autoreply, …), a noreply
	// sender, an auto-reply subject, a report or complaint. Such mail is never answered.
	Automatic bool
	// AutomaticReason says which sign made it Automatic, for staff ("" when not).
	AutomaticReason string
	// Authenticated is set when the channel proved the sender: for mail, a DMARC pass or an
	// aligned DKIM signature, as our own receiving server or the daemon checked it. A From
	// alone proves nothing.
	Authenticated bool
	// NullSender is set for an empty or MAILER-DAEMON return path or From, and for every
	// delivery report.
	NullSender bool
	// Report is set for a delivery status notification: a multipart/report, or a plain
	// bounce from a mail system. From may then be empty.
	Report *DeliveryReport
	// Attachments in order; a file over the size limit has TooLarge set and neither Data
	// nor Staged.
	Attachments []File
	// RawHash names the raw message kept in the blob store ("" if not kept).
	RawHash string
	// ReplyToTicket is a ticket the channel itself says this answers (a Telegram reply to
	// a bot message of that ticket); 0 if none.
	ReplyToTicket int64
	// InStaffChat is set when the message was written in the staff chat, where staff see
	// it already (core.Actor.InStaffChat).
	InStaffChat bool
	// Date is when the sender says it was sent (zero if unknown).
	Date time.Time
	// Topic, when set, is the topic the sender chose for a new ticket (a chat dialogue);
	// otherwise topic_by_address decides.
	Topic *core.Topic
}

// File is an attachment of an Inbound message.
type File struct {
	Name        string
	ContentType string
	Size        int64
	Data        []byte
	// Staged, when set, is the file already kept in the blob store while the channel read
	// it (a mail's attachment, never held whole); Data is then nil. Name is still the
	// file's name: the reference's is replaced by it.
	Staged *core.FileRef
	// TooLarge marks a file over attachments.max_bytes: not stored, the sender is told.
	TooLarge bool
}

// DeliveryReport is what a bounce says about a message we sent.
type DeliveryReport struct {
	// OriginalMessageID is the Message-ID of our mail that failed (without brackets).
	OriginalMessageID string
	// Action is the DSN action ("failed", "delayed", "delivered", …).
	Action    string
	Recipient string
	Status    string // e.g. "5.1.1"
}

// Outgoing is one rendered notification for a Sender.
type Outgoing struct {
	NotificationID int64
	Kind           core.NotificationKind
	Channel        core.Channel
	TicketID       int64
	// To is an email address or a Telegram chat ID in decimal.
	To      string
	Subject string
	Text    string
	HTML    string // optional alternative for mail
	// Mail threading and headers.
	MessageID  string   // our Message-ID for this notification, without brackets
	InReplyTo  string   // without brackets
	References []string // without brackets
	ReplyTo    string
	// AutoSubmitted is the Auto-Submitted header value: "auto-generated" for notifications,
	// "auto-replied" for automatic answers to a mail.
	AutoSubmitted string
	// Actions offered under a chat message (Reply, Close).
	Actions []Action
	// Thread is, for a chat message of a ticket, the ticket's own thread where the chat
	// keeps one per ticket (a Telegram forum topic); nil for mail and for no ticket.
	Thread *Thread
}

// Thread says how a chat message of a ticket goes into the ticket's thread.
type Thread struct {
	// Name is the thread's title: "#<id> <subject>".
	Name string
	// Only marks a message that belongs in the thread alone (a ticket_activity): a chat
	// that keeps no threads does not get it.
	Only bool
	// Close closes the thread after this message (the ticket closed); Reopen reopens it
	// before (the ticket left Closed).
	Close, Reopen bool
}

// ThreadName is the title of a ticket's thread: "#<id> <subject>", cut to max characters.
func ThreadName(id int64, subject string, max int) string {
	name := []rune("#" + strconv.FormatInt(id, 10) + " " + strings.Join(strings.Fields(subject), " "))
	if len(name) > max {
		name = append(name[:max-1], '…')
	}
	return strings.TrimSpace(string(name))
}

// Action is a button under a chat notification.
type Action struct {
	Label string
	Data  string // e.g. "reply:42", "close:42"
}

// Sender delivers an Outgoing on one channel. It returns a *PermanentError for a failure no
// retry can mend (unknown address, a user who blocked the bot) and a *RetryAfterError when the
// channel asks to wait.
type Sender interface {
	Send(ctx context.Context, out Outgoing) error
}

// PermanentError marks a delivery that must not be retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err says not to retry.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError is a channel's "too many requests, wait this long".
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }
