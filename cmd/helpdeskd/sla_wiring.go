package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// slaEvery is how often the SLA job looks for due times to warn about or breach.
const slaEvery = time.Minute

// slaOptions turns [sla] into core's policies with their calendars. The configuration was
// validated, so a calendar that fails here (a time zone database missing since) is logged
// and its policies are left out rather than stopping the start.
func slaOptions(c config.SLA, log *slog.Logger) core.SLAOptions {
	cals := map[string]*core.Calendar{}
	for _, cc := range c.Calendars {
		loc, err := time.LoadLocation(cc.Timezone)
		if err != nil {
			log.Error("sla: calendar left out", "calendar", cc.Name, "err", err)
			continue
		}
		cal := &core.Calendar{Name: strings.TrimSpace(cc.Name), Location: loc, Holidays: map[string]bool{}}
		hours, _ := cc.Hours.Days()
		for d, h := range hours {
			ranges, _ := config.ParseHours(h)
			for _, r := range ranges {
				cal.Week[d] = append(cal.Week[d], core.Span{From: r.From, To: r.To})
			}
		}
		for _, h := range cc.Holidays {
			cal.Holidays[strings.TrimSpace(h)] = true
		}
		cals[cal.Name] = cal
	}
	opts := core.SLAOptions{WarnBefore: c.WarnBefore.D()}
	for _, p := range c.Policies {
		cal := cals[strings.TrimSpace(p.Calendar)]
		if cal == nil {
			continue
		}
		pol := core.SLAPolicy{Name: p.Name(), DepartmentID: p.Department, Calendar: cal,
			FirstResponse: p.FirstResponse.D(), Resolution: p.Resolution.D()}
		if p.Topic != nil {
			t := core.Topic(*p.Topic)
			pol.Topic = &t
		}
		opts.Policies = append(opts.Policies, pol)
	}
	return opts
}

// slaPart is the SLA job as the daemon's part, under the lease "sla" so that one node of a
// shared Postgres database warns and counts (core.Service.CheckSLAs is safe on several nodes
// at once too: each ticket is settled in a transaction that reads it again). It first
// recomputes open tickets' due times when the SLA configuration changed since they were
// computed, then checks every slaEvery.
func (m *Main) slaPart() func(context.Context) error {
	return m.singleton("sla", m.runSLA)
}

func (m *Main) runSLA(ctx context.Context) error {
	log := m.Logger.With("part", "sla")
	if _, err := m.Service.RecomputeSLAs(ctx, log); err != nil && ctx.Err() == nil {
		// The next start tries again; the due times stay as they were.
		log.Error("sla: recompute of open tickets failed", "err", err)
	}
	tick := time.NewTicker(slaEvery)
	defer tick.Stop()
	for {
		res, err := m.Service.CheckSLAs(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("sla check", "err", err, "warned", res.Warned, "breached", res.Breached)
		case res.Warned > 0 || res.Breached > 0:
			log.Info("sla check", "warned", res.Warned, "breached", res.Breached)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
