package core

import (
	"context"
	"strconv"
	"time"
)

// Options configures a Service. The zero value is usable: no notifications, 10 MB files.
type Options struct {
	// MaxAttachmentBytes is attachments.max_bytes.
	MaxAttachmentBytes int64
	// StaffReplyInProgress is tickets.staff_reply_in_progress.
	StaffReplyInProgress bool
	Notify               NotifyOptions
	// SLA is [sla]: the policies and calendars due times are counted in (none: no SLA).
	SLA SLAOptions
	// AutoClose is [tickets] auto_close_after and auto_close_reminder (zero: off).
	AutoClose AutoCloseOptions
	// Observer hears about finished use cases (metrics); nil is fine.
	Observer Observer
	// SearchCap and SearchScan bound a staff search (QueueFilter); 0 takes the defaults.
	SearchCap  int
	SearchScan int
}

// NotifyOptions says which channels notifications are written for.
type NotifyOptions struct {
	Email    bool
	Telegram bool
	// StaffEmails get staff alerts by email; StaffChatID (0: none) gets them on Telegram.
	StaffEmails []string
	StaffChatID int64
	// StaffThreads posts every ticket's activity in the staff chat too (ticket_activity),
	// for a chat that keeps a thread per ticket (a Telegram forum).
	StaffThreads bool
}

// DefaultMaxAttachmentBytes is attachments.max_bytes's default: 10 MB.
const DefaultMaxAttachmentBytes = 10 << 20

// Observer is told what the use cases did, after the commit.
type Observer interface {
	TicketCreated(ch Channel)
}

// Service holds the use cases. It is safe for concurrent use.
type Service struct {
	store Store // base behind a watchedStore
	base  Store
	blobs Blobs
	clock Clock
	opts  Options
	keys  *keyCache
}

// NewService returns a Service over the store and blobs; clock nil means the system clock.
func NewService(store Store, blobs Blobs, clock Clock, opts Options) *Service {
	if clock == nil {
		clock = SystemClock{}
	}
	if opts.MaxAttachmentBytes <= 0 {
		opts.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if opts.SearchCap <= 0 {
		opts.SearchCap = DefaultSearchCap
	}
	if opts.SearchScan <= 0 {
		opts.SearchScan = DefaultSearchScan
	}
	keys := newKeyCache()
	return &Service{store: watchedStore{Store: store, keys: keys}, base: store, blobs: blobs, clock: clock, opts: opts, keys: keys}
}

// MaxAttachmentBytes returns the size limit for one file.
func (s *Service) MaxAttachmentBytes() int64 { return s.opts.MaxAttachmentBytes }

// Actor is who performs a use case and through which channel.
type Actor struct {
	User    *User
	Channel Channel
	// InStaffChat is set when the action was taken in the staff chat, where the staff
	// following the ticket see it as it happens: what was written or assigned there is not
	// posted there again (ticket_activity).
	InStaffChat bool
}

func (a Actor) isStaff() bool { return a.User != nil && a.User.Role.IsStaff() }

// canSee reports whether the actor may see tickets of the account: a member, or staff.
func (a Actor) canSee(accountID int64) bool {
	return a.User != nil && (a.User.Role.IsStaff() || a.User.MemberOf(accountID))
}

// notifyUser queues n for user u on every channel u can be reached on. The actor is never
// notified of their own action on the channel it came through: they are looking at it.
// The one exception is the confirmation of a ticket opened by mail, which carries the
// ticket number and reply address the customer needs to go on by mail.
func (s *Service) notifyUser(ctx context.Context, tx Tx, actor Actor, u *User, n Notification) error {
	self := actor.User != nil && actor.User.ID == u.ID
	keep := func(ch Channel) bool {
		if !self {
			return true
		}
		if n.Kind != NotifyTicketCreated {
			return false
		}
		return ch != actor.Channel || ch == ChannelEmail
	}
	n.UserID = u.ID
	if s.opts.Notify.Email && u.Email != "" && keep(ChannelEmail) {
		m := n
		m.Channel, m.Recipient = ChannelEmail, u.Email
		if err := s.queue(ctx, tx, &m); err != nil {
			return err
		}
	}
	if s.opts.Notify.Telegram && u.TelegramID != 0 && keep(ChannelTelegram) {
		m := n
		m.Channel, m.Recipient = ChannelTelegram, strconv.FormatInt(u.TelegramID, 10)
		if err := s.queue(ctx, tx, &m); err != nil {
			return err
		}
	}
	return nil
}

// notifyStaff queues n for the staff addresses and the staff chat.
func (s *Service) notifyStaff(ctx context.Context, tx Tx, n Notification) error {
	if s.opts.Notify.Email {
		for _, addr := range s.opts.Notify.StaffEmails {
			m := n
			m.Channel, m.Recipient = ChannelEmail, addr
			if err := s.queue(ctx, tx, &m); err != nil {
				return err
			}
		}
	}
	if s.opts.Notify.Telegram && s.opts.Notify.StaffChatID != 0 {
		m := n
		m.Channel, m.Recipient = ChannelTelegram, strconv.FormatInt(s.opts.Notify.StaffChatID, 10)
		if err := s.queue(ctx, tx, &m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) queue(ctx context.Context, tx Tx, n *Notification) error {
	now := s.clock.Now()
	n.State = NotificationPending
	n.CreatedAt = now
	n.NextAttemptAt = now
	return tx.AddNotification(ctx, n)
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// NotifiesEmail reports whether email notifications are on.
func (s *Service) NotifiesEmail() bool { return s.opts.Notify.Email }
