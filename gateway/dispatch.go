package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Outbox is what the dispatcher needs of the database.
type Outbox interface {
	// DueIn returns up to limit pending notifications of a lane due at now, oldest first.
	DueIn(ctx context.Context, now time.Time, lane Lane, limit int) ([]core.Notification, error)
	// SetMessageRef stores the Message-ID before the first send, so retries reuse it.
	SetMessageRef(ctx context.Context, id int64, ref string) error
	MarkSent(ctx context.Context, id int64, attempts int, at time.Time) error
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error
	MarkFailed(ctx context.Context, id int64, attempts int, lastErr string) error
	// TicketOrigin returns the key of the message on ch that opened a ticket, or "".
	TicketOrigin(ctx context.Context, ch core.Channel, ticketID int64) (string, error)
}

// Lane is a share of the outbox that is delivered by a loop of its own, so that one
// destination's pace (Telegram allows a group 20 messages a minute) never holds up another's.
// Recipient, when set, narrows the lane to the notifications to that recipient or, with
// Except, to all others of the channel.
type Lane struct {
	Channel   core.Channel
	Recipient string
	Except    bool
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
	// PollInterval is how often each lane looks at the outbox when nobody calls Kick
	// (default 1 s): retries come due without a commit to announce them.
	PollInterval time.Duration
	// Batch is how many notifications one pass of a lane takes (default 100).
	Batch int
	// StaffChat is the recipient of notifications to the Telegram staff chat (the chat ID
	// as core queues it); "" when there is none. Its lane is paced apart from the customers'.
	StaffChat string
	// EmailWorkers is how many email notifications are in flight at once (default 1); the
	// email Sender should keep as many connections. A crash may resend each in-flight one,
	// and each sent one whose outcome waits for the commit in progress (see outcomes).
	EmailWorkers int
	// OnFailed is told when a notification is given up (metrics); may be nil.
	OnFailed func(core.Channel)
	Logger   *slog.Logger
}

// Dispatcher delivers the outbox: it renders each due notification and hands it to its
// channel's Sender, retrying with exponential backoff. Every lane (email, Telegram
// customers, the Telegram staff chat) runs its own loop, so a slow one does not hold up
// the others.
type Dispatcher struct {
	outbox  Outbox
	store   core.Store
	senders map[core.Channel]Sender
	clock   core.Clock
	opts    DispatcherOptions
	log     *slog.Logger
	lanes   []*lane
}

// lane is a Lane with its wake-up and how many of its notifications may be in flight.
type lane struct {
	Lane
	name    string
	workers int
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
	if opts.EmailWorkers <= 0 {
		opts.EmailWorkers = 1
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{outbox: outbox, store: store, senders: senders, clock: clock, opts: opts, log: log}
	// Email and Telegram get lanes even without a Sender: what was queued before a channel
	// was turned off is then retried and given up as it always was, not left pending.
	channels := []core.Channel{core.ChannelEmail, core.ChannelTelegram}
	for ch := range senders {
		if !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	add := func(name string, l Lane, workers int) {
		d.lanes = append(d.lanes, &lane{Lane: l, name: name, workers: workers, kick: make(chan struct{}, 1)})
	}
	for _, ch := range channels {
		switch {
		case ch == core.ChannelEmail:
			add("email", Lane{Channel: ch}, opts.EmailWorkers)
		case ch == core.ChannelTelegram && opts.StaffChat != "":
			add("telegram customers", Lane{Channel: ch, Recipient: opts.StaffChat, Except: true}, 1)
			add("telegram staff chat", Lane{Channel: ch, Recipient: opts.StaffChat}, 1)
		default:
			add(string(ch), Lane{Channel: ch}, 1)
		}
	}
	return d
}

// Kick asks every lane for a pass now: called after a commit that queued notifications,
// so they leave at once instead of at the next poll.
func (d *Dispatcher) Kick() {
	for _, l := range d.lanes {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, l := range d.lanes {
		wg.Go(func() { d.runLane(ctx, l) })
	}
	wg.Wait()
	return nil
}

// runLane delivers one lane until ctx ends. A full batch is followed at once by the next:
// the backlog, not the poll, sets the pace while work remains.
func (d *Dispatcher) runLane(ctx context.Context, l *lane) {
	t := time.NewTicker(d.opts.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		sent, full, err := d.pass(ctx, l)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("outbox pass failed", "lane", l.name, "err", err)
		}
		// Only a batch that sent something goes on at once: one whose outcomes could not be
		// recorded (the database unavailable) would otherwise be fetched again and again.
		if full && err == nil && sent > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-l.kick:
		}
	}
}

// DeliverDue makes one pass over every lane and returns how many were sent.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	var sent atomic.Int64
	errs := make([]error, len(d.lanes))
	for i, l := range d.lanes {
		wg.Go(func() {
			n, _, err := d.pass(ctx, l)
			sent.Add(int64(n))
			errs[i] = err
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return int(sent.Load()), err
	}
	return int(sent.Load()), errors.Join(errs...)
}

// pass delivers one batch of a lane, up to l.workers at a time; full says the batch was
// full, so more may be waiting. It returns once every outcome of the batch is recorded.
func (d *Dispatcher) pass(ctx context.Context, l *lane) (sent int, full bool, err error) {
	due, err := d.outbox.DueIn(ctx, d.clock.Now(), l.Lane, d.opts.Batch)
	if err != nil {
		return 0, false, err
	}
	if l.Channel == core.ChannelEmail {
		d.storeRefs(ctx, due)
	}
	pre := d.loadBatch(ctx, due)
	rec := d.newOutcomes(ctx, len(due))
	var n atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(l.workers, len(due)) {
		wg.Go(func() {
			for i := range work {
				var p *loaded
				if pre != nil {
					p = &pre[i]
				}
				o, ok := d.deliver(ctx, due[i], p)
				if ok {
					rec.add(o)
					if o.State == core.NotificationSent {
						n.Add(1)
					}
				}
			}
		})
	}
	for i := range due {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	rec.close()
	return int(n.Load()), len(due) == d.opts.Batch, ctx.Err()
}

// refStore is an Outbox that stores many Message-IDs in one write.
type refStore interface {
	SetMessageRefs(ctx context.Context, refs map[int64]string) error
}

// storeRefs stores the Message-IDs of a batch's first attempts in one write before any of
// them is sent, which spares each send a durable write of its own. Should it fail, each
// notification stores its own in deliver, as without a refStore.
func (d *Dispatcher) storeRefs(ctx context.Context, due []core.Notification) {
	rs, ok := d.outbox.(refStore)
	if !ok {
		return
	}
	domain := domainOf(d.opts.Render.Address)
	refs := map[int64]string{}
	for _, n := range due {
		if n.MessageRef == "" {
			refs[n.ID] = NotificationMessageID(n.ID, domain)
		}
	}
	if len(refs) == 0 {
		return
	}
	if err := rs.SetMessageRefs(ctx, refs); err != nil {
		d.log.Warn("store message ids", "err", err)
		return
	}
	for i := range due {
		if ref, ok := refs[due[i].ID]; ok {
			due[i].MessageRef = ref
		}
	}
}

// deliver sends one notification, rendered from pre when its batch loaded it (nil: it
// loads its own), and returns the outcome to record; false when there is none to record
// (shutting down).
func (d *Dispatcher) deliver(ctx context.Context, n core.Notification, pre *loaded) (DeliveryOutcome, bool) {
	log := d.log.With("notification", n.ID, "channel", n.Channel, "ticket", n.TicketID, "event", n.Kind)
	attempts := n.Attempts + 1
	var out Outgoing
	var err error
	if pre != nil {
		out, err = render(d.opts.Render, pre.in), pre.err
	} else {
		out, err = d.render(ctx, n)
	}
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
		return DeliveryOutcome{ID: n.ID, State: core.NotificationSent, Attempts: attempts, At: d.clock.Now()}, true
	}
	if ctx.Err() != nil {
		return DeliveryOutcome{}, false // shutting down: the attempt does not count
	}
	msg := truncate(err.Error(), 500)
	var ra *RetryAfterError
	switch {
	case IsPermanent(err) || attempts >= d.opts.MaxAttempts:
		log.Warn("notification failed", "attempts", attempts, "err", msg)
		if d.opts.OnFailed != nil {
			d.opts.OnFailed(n.Channel)
		}
		return DeliveryOutcome{ID: n.ID, State: core.NotificationFailed, Attempts: attempts, LastError: msg}, true
	case errors.As(err, &ra):
		// The channel asked us to wait: not the notification's fault, not an attempt.
		return DeliveryOutcome{ID: n.ID, State: core.NotificationPending, Attempts: n.Attempts, Next: d.clock.Now().Add(ra.After), LastError: msg}, true
	default:
		next := d.clock.Now().Add(d.backoff(attempts))
		log.Info("notification will be retried", "attempts", attempts, "next", next, "err", msg)
		return DeliveryOutcome{ID: n.ID, State: core.NotificationPending, Attempts: attempts, Next: next, LastError: msg}, true
	}
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

// render loads what a notification talks about and renders it, alone: for a notification
// its batch could not load.
func (d *Dispatcher) render(ctx context.Context, n core.Notification) (Outgoing, error) {
	var in renderInput
	err := d.store.Read(ctx, func(tx core.ReadTx) error {
		var err error
		in, err = load(ctx, tx, newReadCache(), n)
		return err
	})
	if err != nil {
		return Outgoing{}, err
	}
	if needsOrigin(n) {
		if in.origin, err = d.outbox.TicketOrigin(ctx, core.ChannelEmail, n.TicketID); err != nil {
			return Outgoing{}, err
		}
	}
	return render(d.opts.Render, in), nil
}
