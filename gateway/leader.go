package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Leases elects one node among several for a job that must run once (a mailbox's poller,
// the Telegram poller). A lease is taken for a time and renewed before it ends; every change
// of holder gives it a greater fence number.
type Leases interface {
	// AcquireLease takes or renews lease name for holder until ttl from now and returns its
	// fence number; ECONFLICT while another holder's lease has not expired.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (fence int64, err error)
	// ReleaseLease gives the lease up if holder holds it, so another node need not wait for
	// it to expire.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// LeaderOptions configures RunLeader.
type LeaderOptions struct {
	// Lease is the lease's name ("imap:INBOX", "telegram"); Holder names this node.
	Lease, Holder string
	// TTL is how long a taken lease lasts without renewal (default 15 s). It is renewed every
	// TTL/3, and a standby node tries to take it as often.
	TTL time.Duration
	// Held, when set, is told whenever this node starts or stops holding the lease.
	Held   func(held bool)
	Logger *slog.Logger
}

// DefaultLeaseTTL is LeaderOptions.TTL's default: a dead leader's job resumes elsewhere
// within it.
const DefaultLeaseTTL = 15 * time.Second

// RunLeader runs work while this node holds the lease, until ctx ends. work's context
// carries the lease's fence (core.WithFence), so a store shared by the nodes refuses its
// writes once another node has taken the lease; it is cancelled as soon as a renewal fails
// or the lease would expire before the next one can be tried. Then the node waits as a
// standby and takes the lease again when it is free.
func RunLeader(ctx context.Context, leases Leases, opts LeaderOptions, work func(ctx context.Context) error) error {
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("lease", opts.Lease)
	held := func(h bool) {
		if opts.Held != nil {
			opts.Held(h)
		}
	}
	held(false)
	every := ttl / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		fence, err := leases.AcquireLease(ctx, opts.Lease, opts.Holder, ttl)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			log.Info("lease taken: running", "fence", fence)
			held(true)
			lead(ctx, leases, opts, ttl, every, fence, log, work)
			held(false)
			if ctx.Err() != nil {
				// Let another node take over at once rather than after the TTL.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				leases.ReleaseLease(rctx, opts.Lease, opts.Holder)
				cancel()
				return nil
			}
			log.Warn("lease lost: standing by")
		case core.ErrorCode(err) != core.ECONFLICT:
			log.Warn("lease not taken", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// lead runs work under the lease of fence and renews it until a renewal fails, the lease
// is about to run out, work returns or ctx ends.
func lead(ctx context.Context, leases Leases, opts LeaderOptions, ttl, every time.Duration, fence int64, log *slog.Logger, work func(context.Context) error) {
	wctx, cancel := context.WithCancel(core.WithFence(ctx, core.Fence{Lease: opts.Lease, Holder: opts.Holder, Number: fence}))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(wctx) }()
	finished := false
	defer func() {
		cancel()
		if !finished {
			<-done
		}
	}()
	// The lease runs until ttl after the last renewal that succeeded, as this node sees it:
	// the deadline is taken before the request, so it errs on the early side.
	until := time.Now().Add(ttl)
	renew := time.NewTicker(every)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-done:
			finished = true
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("leader's work stopped", "err", err)
			}
			// RunLeader takes the lease again (a renewal: the same fence) and runs it anew.
			return
		case <-renew.C:
		}
		asked := time.Now()
		// A renewal must answer before the lease would end; one that cannot is a lost lease.
		rctx, rcancel := context.WithDeadline(ctx, until)
		f, err := leases.AcquireLease(rctx, opts.Lease, opts.Holder, ttl)
		rcancel()
		if err == nil && f == fence {
			until = asked.Add(ttl)
			continue
		}
		if ctx.Err() == nil {
			log.Warn("lease renewal failed", "err", err, "fence", fence, "now", f)
		}
		return
	}
}
