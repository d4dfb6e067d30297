package main

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// retentionEvery is how often the retention job looks for raw mails and rejected mail past
// their days: a minute late is on time.
const retentionEvery = time.Minute

// retentionPolicy is core's retention from [retention].
func retentionPolicy(r config.Retention) core.Retention {
	return core.Retention{RawMailDays: r.RawMailDays, RejectedMailDays: r.RejectedMailDays}
}

// retentionParts is the retention job as the daemon's part, none when everything is kept
// forever. It runs under the lease "retention", so one node of a shared Postgres database
// does the work; core.Service.PurgeRetention is safe on several nodes at once too (each
// batch is one write of what it finds, and a blob goes only when nothing names it).
func (m *Main) retentionParts() []func(context.Context) error {
	p := retentionPolicy(m.Config.Retention)
	if p.RawMailDays <= 0 && p.RejectedMailDays <= 0 {
		return nil
	}
	return []func(context.Context) error{m.singleton("retention", func(ctx context.Context) error { return m.runRetention(ctx, p) })}
}

// runRetention purges every retentionEvery until ctx ends.
func (m *Main) runRetention(ctx context.Context, p core.Retention) error {
	log := m.Logger.With("part", "retention")
	tick := time.NewTicker(retentionEvery)
	defer tick.Stop()
	for {
		res, err := m.Service.PurgeRetention(ctx, p)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("retention", "err", err, "raw_mails", res.RawMails, "rejected", res.Rejected)
		case res.RawMails > 0 || res.Rejected > 0:
			log.Info("retention", "raw_mails", res.RawMails, "rejected", res.Rejected, "files", res.Files, "files_left", res.FilesLeft)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
