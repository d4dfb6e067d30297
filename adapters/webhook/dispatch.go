package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Options configures delivery; the zero value of each field takes its default.
type Options struct {
	// RetryInitial is the wait before the first retry, doubled after each (default 30 s),
	// up to RetryMaxInterval (default 1 h); a delivery is retried until RetryFor has
	// passed since it was queued (default 24 h), then marked failed.
	RetryInitial     time.Duration
	RetryMaxInterval time.Duration
	RetryFor         time.Duration
	// Timeout bounds one attempt, connection to answer (default 10 s).
	Timeout time.Duration
	// AllowPrivate lets deliveries reach loopback, link-local and private addresses.
	AllowPrivate bool
	// DisableAfter is how long an endpoint may fail every attempt before it is disabled
	// (default core.WebhookDisableAfter).
	DisableAfter time.Duration
	// PollInterval is how often the queue is looked at without a Kick (default 1 s).
	PollInterval time.Duration
	// Workers is how many deliveries are in flight at once (default 4), so one slow
	// endpoint does not hold up the others for long.
	Workers int
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Payload renders the body of a delivery of a change: {type, timestamp, data}.
type Payload func(ctx context.Context, c core.Change) ([]byte, error)

// Notices tells staff a webhook was disabled.
type Notices interface {
	WebhookDisabled(ctx context.Context, w core.Webhook) error
}

// Dispatcher delivers due webhook deliveries.
type Dispatcher struct {
	store   Store
	payload Payload
	notices Notices
	opts    Options
	client  *http.Client
	log     *slog.Logger
	kick    chan struct{}
}

// NewDispatcher returns a dispatcher; notices may be nil (nobody is told).
func NewDispatcher(store Store, payload Payload, notices Notices, opts Options) *Dispatcher {
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = 30 * time.Second
	}
	if opts.RetryMaxInterval <= 0 {
		opts.RetryMaxInterval = time.Hour
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = 24 * time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = core.WebhookDisableAfter
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: store, payload: payload, notices: notices, opts: opts,
		client: newClient(opts.Timeout, opts.AllowPrivate), log: log, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass now: called after a commit, so a change leaves at once.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// batch is how many deliveries one pass takes.
const batch = 50

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhook pass failed", "err", err)
		}
		if n == batch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-d.kick:
		}
	}
	return nil
}

// DeliverDue makes one pass: it takes the due deliveries and attempts each, and returns
// how many it took.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	jobs, err := d.store.DueWebhooks(ctx, d.opts.Now(), batch)
	if err != nil {
		return 0, err
	}
	work := make(chan core.WebhookJob)
	var wg sync.WaitGroup
	for range min(d.opts.Workers, len(jobs)) {
		wg.Go(func() {
			for j := range work {
				d.deliver(ctx, j)
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		work <- j
	}
	close(work)
	wg.Wait()
	return len(jobs), ctx.Err()
}

// deliver attempts one delivery and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, j core.WebhookJob) {
	dl := j.Delivery
	log := d.log.With("webhook", dl.WebhookID, "delivery", dl.ID, "type", dl.Type)
	var res attempt
	body, err := d.payload(ctx, j.Change)
	switch {
	case err != nil:
		res = attempt{err: "render: " + err.Error()}
	case len(body) > MaxPayloadBytes:
		res = attempt{err: fmt.Sprintf("the body is %d bytes, more than the %d a delivery may carry", len(body), MaxPayloadBytes)}
	default:
		res = post(ctx, d.client, j.URL, j.Secret, MessageID(dl.ID), d.opts.Now(), body)
	}
	if ctx.Err() != nil {
		return // shutting down: the attempt does not count; the claim ends with the node
	}
	now := d.opts.Now()
	o := core.WebhookOutcome{DeliveryID: dl.ID, WebhookID: dl.WebhookID, Attempts: dl.Attempts + 1, At: now,
		LastStatus: res.status, LastError: truncate(res.err, 500)}
	switch next := now.Add(d.backoff(o.Attempts)); {
	case res.err == "":
		o.State = core.DeliveryDelivered
	case next.After(dl.CreatedAt.Add(d.opts.RetryFor)):
		o.State = core.DeliveryFailed
		log.Warn("webhook delivery failed", "attempts", o.Attempts, "err", o.LastError)
	default:
		o.State, o.Next = core.DeliveryPending, next
		log.Info("webhook delivery will be retried", "attempts", o.Attempts, "next", next, "err", o.LastError)
	}
	// What was sent is better known than sent again: the record outlives shutdown.
	rctx := context.WithoutCancel(ctx)
	w, err := d.store.RecordWebhook(rctx, o)
	if err != nil {
		if core.ErrorCode(err) != core.ENOTFOUND {
			log.Error("record webhook delivery", "err", err)
		}
		return
	}
	if o.State == core.DeliveryDelivered || w.Disabled || w.FailingSince.IsZero() || now.Sub(w.FailingSince) < d.opts.DisableAfter {
		return
	}
	reason := "every attempt failed since " + w.FailingSince.UTC().Format(time.RFC3339) + "; the last: " + o.LastError
	done, err := d.store.DisableWebhook(rctx, w.ID, reason)
	if err != nil {
		log.Error("disable webhook", "err", err)
		return
	}
	if !done {
		return
	}
	log.Warn("webhook disabled", "reason", reason)
	w.Disabled, w.DisabledReason = true, reason
	if d.notices != nil {
		if err := d.notices.WebhookDisabled(rctx, *w); err != nil {
			log.Error("tell staff of a disabled webhook", "err", err)
		}
	}
}

// backoff is RetryInitial·2^(attempts-1), capped at RetryMaxInterval, ±10 % jitter so that
// the deliveries of one outage do not come back in lockstep.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	delay := d.opts.RetryInitial
	for i := 1; i < attempts && delay < d.opts.RetryMaxInterval; i++ {
		delay *= 2
	}
	delay = min(delay, d.opts.RetryMaxInterval)
	return delay + time.Duration(rand.Int64N(int64(delay)/5+1)) - delay/10
}
