package main

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// autoCloseEvery is how often the auto-close job looks for quiet Resolved tickets: its
// times are days, so a minute late is on time.
const autoCloseEvery = time.Minute

// autoCloseOptions are core's auto-close options from [tickets].
func autoCloseOptions(t config.Tickets) core.AutoCloseOptions {
	return core.AutoCloseOptions{After: t.AutoCloseAfter.D(), Reminder: t.AutoCloseReminder.D()}
}

// autoCloseParts is the auto-close job as the daemon's part, none when auto-close is off.
// It runs under the lease "autoclose", so one node of a shared Postgres database does the
// work; core.Service.AutoClose is safe on several nodes at once as well (each step is
// recorded once per quiet period), so a lease changing hands mid-run does no harm.
func (m *Main) autoCloseParts() []func(context.Context) error {
	if m.Config.Tickets.AutoCloseAfter.D() <= 0 {
		return nil
	}
	return []func(context.Context) error{m.singleton("autoclose", m.runAutoClose)}
}

// runAutoClose runs core's auto-close every autoCloseEvery until ctx ends.
func (m *Main) runAutoClose(ctx context.Context) error {
	log := m.Logger.With("part", "autoclose")
	tick := time.NewTicker(autoCloseEvery)
	defer tick.Stop()
	for {
		res, err := m.Service.AutoClose(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("auto-close", "err", err, "reminded", res.Reminded, "closed", res.Closed)
		case res.Reminded > 0 || res.Closed > 0:
			log.Info("auto-close", "reminded", res.Reminded, "closed", res.Closed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
