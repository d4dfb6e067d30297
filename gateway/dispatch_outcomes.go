package gateway

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// DeliveryOutcome is what became of one attempt at a notification, to be recorded in the outbox.
type DeliveryOutcome struct {
	ID int64
	// State is NotificationSent, NotificationFailed, or NotificationPending for a retry.
	State    core.NotificationState
	Attempts int
	// At is when it was sent (State sent); Next when to try again (State pending).
	At, Next time.Time
	// LastError says why it was not sent ("" when it was).
	LastError string
}

// outcomeStore is an Outbox that records many outcomes in one write, each exactly as
// MarkSent, MarkRetry or MarkFailed would: one transaction and one fsync for all.
type outcomeStore interface {
	RecordOutcomes(ctx context.Context, outcomes []DeliveryOutcome) error
}

// outcomes records the outcomes of one pass. With an outcomeStore a goroutine of its own
// writes them: it takes every outcome waiting, writes them in one RecordOutcomes, and
// goes on with those that came in meanwhile, so the workers never wait for a commit and a
// commit carries as many outcomes as arrived during the last one. Without one each is
// recorded by the worker that has it, at once, as it always was.
//
// At-least-once holds: an outcome exists only once the Sender has returned, so nothing is
// marked sent that was not. What a crash may resend grows by what waits for the recorder:
// at most the outcomes of one commit's time (a few milliseconds), never a whole batch.
type outcomes struct {
	d     *Dispatcher
	store outcomeStore // nil: each recorded alone
	ctx   context.Context
	in    chan DeliveryOutcome
	done  chan struct{}
}

// newOutcomes starts the recording of a pass of up to n notifications. The outcomes are
// recorded even when ctx ends: what was sent is better known than sent again.
func (d *Dispatcher) newOutcomes(ctx context.Context, n int) *outcomes {
	r := &outcomes{d: d, ctx: context.WithoutCancel(ctx)}
	if s, ok := d.outbox.(outcomeStore); ok {
		r.store = s
		// Room for the whole batch: a worker never blocks on a slow commit.
		r.in, r.done = make(chan DeliveryOutcome, n), make(chan struct{})
		go r.run()
	}
	return r
}

// add records o: hands it to the recorder, or records it now.
func (r *outcomes) add(o DeliveryOutcome) {
	if r.store != nil {
		r.in <- o
		return
	}
	r.d.recordOne(r.ctx, o)
}

// close waits until every outcome added is recorded (or failed to be): the next pass must
// not find what this one sent still pending.
func (r *outcomes) close() {
	if r.store != nil {
		close(r.in)
		<-r.done
	}
}

func (r *outcomes) run() {
	defer close(r.done)
	var group []DeliveryOutcome
	for o := range r.in {
		group = append(group[:0], o)
	more:
		for {
			select {
			case o, ok := <-r.in:
				if !ok {
					break more
				}
				group = append(group, o)
			default:
				break more
			}
		}
		err := r.d.persist(r.ctx, func(ctx context.Context) error { return r.store.RecordOutcomes(ctx, group) })
		if err != nil {
			for _, o := range group {
				r.d.logUnrecorded(o, err)
			}
		}
	}
}

// recordOne records o with the Outbox's method for its state.
func (d *Dispatcher) recordOne(ctx context.Context, o DeliveryOutcome) {
	err := d.persist(ctx, func(ctx context.Context) error {
		switch o.State {
		case core.NotificationSent:
			return d.outbox.MarkSent(ctx, o.ID, o.Attempts, o.At)
		case core.NotificationFailed:
			return d.outbox.MarkFailed(ctx, o.ID, o.Attempts, o.LastError)
		default:
			return d.outbox.MarkRetry(ctx, o.ID, o.Attempts, o.Next, o.LastError)
		}
	})
	if err != nil {
		d.logUnrecorded(o, err)
	}
}

// recordPauses are the pauses between the tries of an outcome's record: about six seconds
// in all. An outcome not recorded leaves the notification claimed (on a shared outbox)
// until its claim expires, minutes later, and then it is sent again; the usual cause is
// passing (a connection the server ended while the process was frozen, a failover), and
// the next try gets a new connection. Recording again is safe: an outcome's write is the
// same whether or not an earlier try committed.
var recordPauses = []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond,
	time.Second, 1500 * time.Millisecond, 3 * time.Second}

// persist runs write, and again after each of recordPauses while it fails.
func (d *Dispatcher) persist(ctx context.Context, write func(context.Context) error) error {
	err := write(ctx)
	for _, p := range recordPauses {
		if err == nil || ctx.Err() != nil {
			break
		}
		d.log.Warn("record outcome: will try again", "in", p, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(p):
			err = write(ctx)
		}
	}
	return err
}

func (d *Dispatcher) logUnrecorded(o DeliveryOutcome, err error) {
	log := d.log.With("notification", o.ID)
	switch o.State {
	case core.NotificationSent:
		// Sent but not recorded: it will be sent again. At-least-once is the lesser evil.
		log.Error("record sent notification", "err", err)
	case core.NotificationFailed:
		log.Error("record failed notification", "err", err)
	default:
		log.Error("record retry", "err", err)
	}
}
