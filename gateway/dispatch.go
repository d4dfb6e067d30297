package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"helpdeskd/core"
)

// Outbox is what the dispatcher needs of the database.
type Outbox interface {
	// Due returns up to limit pending notifications due at now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]core.Notification, error)
	// SetMessageRef stores the Message-ID before the first send, so retries reuse it.
	SetMessageRef(ctx context.Context, id int64, ref string) error
	MarkSent(ctx context.Context, id int64, attempts int, at time.Time) error
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error
	MarkFailed(ctx context.Context, id int64, attempts int, lastErr string) error
	// TicketOrigin returns the key of the message on ch that opened a ticket, or "".
	TicketOrigin(ctx context.Context, ch core.Channel, ticketID int64) (string, error)
}

// DispatcherOptions configures delivery.
type DispatcherOptions struct {
	Render RenderOptions
	// MaxAttempts before a notification is marked failed (default 8).
	MaxAttempts int
	// BaseDelay doubles after every failed attempt up to MaxDelay (defaults 30 s, 1 h):
	// eight attempts span about two hours.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// PollInterval is how often the outbox is looked at when nobody calls Kick (default 1 s).
	PollInterval time.Duration
	// Batch is how many notifications one pass takes (default 100).
	Batch int
	// OnFailed is told when a notification is given up (metrics); may be nil.
	OnFailed func(core.Channel)
	Logger   *slog.Logger
}

// Dispatcher delivers the outbox: it renders each due notification and hands it to its
// channel's Sender, retrying with exponential backoff. Channels are delivered
// independently, so a slow one does not hold up the others.
type Dispatcher struct {
	outbox  Outbox
	store   core.Store
	senders map[core.Channel]Sender
	clock   core.Clock
	opts    DispatcherOptions
	log     *slog.Logger
	kick    chan struct{}
}

// NewDispatcher returns a dispatcher; clock nil means the system clock.
func NewDispatcher(outbox Outbox, store core.Store, senders map[core.Channel]Sender, clock core.Clock, opts DispatcherOptions) *Dispatcher {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 30 * time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Hour
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{outbox: outbox, store: store, senders: senders, clock: clock, opts: opts, log: log, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass now (after a commit that queued notifications).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.PollInterval)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.kick:
		}
	}
}

// DeliverDue makes one pass over the due notifications and returns how many were sent.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	due, err := d.outbox.Due(ctx, d.clock.Now(), d.opts.Batch)
	if err != nil {
		return 0, err
	}
	byChannel := map[core.Channel][]core.Notification{}
	for _, n := range due {
		byChannel[n.Channel] = append(byChannel[n.Channel], n)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for _, list := range byChannel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range list {
				if ctx.Err() != nil {
					return
				}
				if d.deliver(ctx, n) {
					mu.Lock()
					sent++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return sent, ctx.Err()
}

// deliver sends one notification and records the outcome; true if it was sent.
func (d *Dispatcher) deliver(ctx context.Context, n core.Notification) bool {
	log := d.log.With("notification", n.ID, "channel", n.Channel, "ticket", n.TicketID, "event", n.Event)
	attempts := n.Attempts + 1
	out, err := d.render(ctx, n)
	if err == nil && n.Channel == core.ChannelEmail && n.MessageRef == "" {
		err = d.outbox.SetMessageRef(ctx, n.ID, out.MessageID)
	}
	if err == nil {
		s, ok := d.senders[n.Channel]
		if !ok {
			err = errors.New("no sender for channel " + string(n.Channel))
		} else {
			err = s.Send(ctx, out)
		}
	}
	if err == nil {
		if err := d.outbox.MarkSent(ctx, n.ID, attempts, d.clock.Now()); err != nil {
			// Sent but not recorded: it will be sent again. At-least-once is the lesser evil.
			log.Error("record sent notification", "err", err)
		}
		return true
	}
	if ctx.Err() != nil {
		return false // shutting down: the attempt does not count
	}
	msg := truncate(err.Error(), 500)
	var ra *RetryAfterError
	switch {
	case IsPermanent(err) || attempts >= d.opts.MaxAttempts:
		log.Warn("notification failed", "attempts", attempts, "err", msg)
		if err := d.outbox.MarkFailed(ctx, n.ID, attempts, msg); err != nil {
			log.Error("record failed notification", "err", err)
		}
		if d.opts.OnFailed != nil {
			d.opts.OnFailed(n.Channel)
		}
	case errors.As(err, &ra):
		// The channel asked us to wait: not the notification's fault, not an attempt.
		if err := d.outbox.MarkRetry(ctx, n.ID, n.Attempts, d.clock.Now().Add(ra.After), msg); err != nil {
			log.Error("record retry", "err", err)
		}
	default:
		next := d.clock.Now().Add(d.backoff(attempts))
		log.Info("notification will be retried", "attempts", attempts, "next", next, "err", msg)
		if err := d.outbox.MarkRetry(ctx, n.ID, attempts, next, msg); err != nil {
			log.Error("record retry", "err", err)
		}
	}
	return false
}

// backoff is BaseDelay·2^(attempts-1), capped at MaxDelay, with ±20 % jitter so that a
// burst of failures does not retry in lockstep.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	delay := d.opts.BaseDelay
	for i := 1; i < attempts && delay < d.opts.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, d.opts.MaxDelay)
	jitter := time.Duration(rand.Int64N(int64(delay)/5+1)) - delay/10
	return delay + jitter
}

// render loads what a notification talks about and renders it.
func (d *Dispatcher) render(ctx context.Context, n core.Notification) (Outgoing, error) {
	in := renderInput{n: n}
	err := d.store.Read(ctx, func(tx core.ReadTx) error {
		if n.TicketID != 0 {
			t, err := tx.Ticket(ctx, n.TicketID)
			if err != nil {
				return err
			}
			in.ticket = t
		}
		if n.MessageID != 0 {
			m, err := tx.Message(ctx, n.MessageID)
			if err != nil {
				return err
			}
			in.message = m
			if m.AuthorUserID != 0 {
				if in.author, err = tx.User(ctx, m.AuthorUserID); err != nil && core.ErrorCode(err) != core.ENOTFOUND {
					return err
				}
			}
		}
		if n.UserID != 0 {
			u, err := tx.User(ctx, n.UserID)
			if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
				return err
			}
			in.recipient = u
		} else if n.Channel == core.ChannelEmail && n.Recipient != "" {
			// A staff alert goes to a configured address; when a staff user has it, their
			// reply address proves the reply is theirs.
			u, err := tx.UserByEmail(ctx, strings.ToLower(n.Recipient))
			if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
				return err
			}
			if u != nil && u.Role.IsStaff() {
				in.recipient = u
			}
		}
		return nil
	})
	if err != nil {
		return Outgoing{}, err
	}
	if n.Channel == core.ChannelEmail && n.TicketID != 0 {
		if in.origin, err = d.outbox.TicketOrigin(ctx, core.ChannelEmail, n.TicketID); err != nil {
			return Outgoing{}, err
		}
	}
	return render(d.opts.Render, in), nil
}
