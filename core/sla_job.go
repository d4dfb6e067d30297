package core

import (
	"context"
	"log/slog"
	"time"
)

// The SLA job: run every minute (on one node at a time), it warns staff once per target
// when a due time comes within [sla] warn_before of business time, and marks a target
// breached once when its due time passes. RecomputeSLAs settles open tickets after the
// policies or calendars changed.

// SLACheck is what one run of CheckSLAs did.
type SLACheck struct {
	Warned   int
	Breached int
}

// CheckSLAs warns and marks breaches for every running target, as of the service's clock.
// Each ticket is written in a transaction of its own that reads its state again, so two
// runs at once (two nodes) still warn once and count a breach once.
func (s *Service) CheckSLAs(ctx context.Context) (SLACheck, error) {
	var res SLACheck
	if len(s.opts.SLA.Policies) == 0 {
		return res, nil
	}
	var running []TicketSLA
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		running, err = tx.RunningSLAs(ctx, 0)
		return err
	})
	if err != nil {
		return res, err
	}
	now := s.clock.Now()
	for i := range running {
		if !s.slaDueSoon(&running[i], now) {
			continue
		}
		warned, breached, err := s.checkSLA(ctx, running[i].TicketID, now)
		if err != nil {
			return res, err
		}
		if warned {
			res.Warned++
		}
		if breached != "" {
			res.Breached++
			s.slaBreached([]SLATarget{breached})
		}
	}
	return res, nil
}

// slaDueSoon reports whether the running target of sla needs a warning or a breach at now.
func (s *Service) slaDueSoon(sla *TicketSLA, now time.Time) bool {
	target, due := sla.Running()
	if target == "" {
		return false
	}
	if !now.Before(due) {
		return true
	}
	if s.slaWarned(sla, target) {
		return false
	}
	left := due.Sub(now)
	if p := s.slaPolicyNamed(sla.Policy); p != nil && p.Calendar != nil {
		left = p.Calendar.BusinessBetween(now, due)
	}
	return left <= s.opts.SLA.WarnBefore
}

func (s *Service) slaWarned(sla *TicketSLA, target SLATarget) bool {
	if target == SLAFirstResponse {
		return sla.FirstResponseWarned
	}
	return sla.ResolutionWarned
}

// checkSLA warns about or breaches the running target of one ticket, reading it again in
// the transaction. A breach not warned about is warned about at once.
func (s *Service) checkSLA(ctx context.Context, ticketID int64, now time.Time) (warned bool, breached SLATarget, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		warned, breached = false, ""
		sla, err := tx.TicketSLA(ctx, ticketID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !s.slaDueSoon(sla, now) {
			return nil
		}
		target, due := sla.Running()
		if !s.slaWarned(sla, target) {
			warned = true
			if target == SLAFirstResponse {
				sla.FirstResponseWarned = true
			} else {
				sla.ResolutionWarned = true
			}
			n := Notification{Kind: NotifySLAWarning, TicketID: ticketID, Detail: FormatSLADetail(target, due)}
			if err := s.notifyStaff(ctx, tx, n); err != nil {
				return err
			}
		}
		if !now.Before(due) {
			breached = target
			if target == SLAFirstResponse {
				sla.FirstResponseBreached = true
			} else {
				sla.ResolutionBreached = true
			}
		}
		return tx.PutTicketSLA(ctx, sla)
	})
	return warned, breached, err
}

// NotifySLAWarning warns staff that a ticket's SLA target is due soon (or was missed); its
// Detail is FormatSLADetail's.
const NotifySLAWarning NotificationKind = "sla_warning"

// FormatSLADetail is the Detail of an sla_warning: the target and its due time in RFC 3339.
func FormatSLADetail(target SLATarget, due time.Time) string {
	return string(target) + " " + due.UTC().Format(time.RFC3339)
}

// ParseSLADetail reads FormatSLADetail's text back; ok is false for anything else.
func ParseSLADetail(detail string) (target SLATarget, due time.Time, ok bool) {
	for _, t := range []SLATarget{SLAFirstResponse, SLAResolution} {
		if rest, found := cutPrefix(detail, string(t)+" "); found {
			d, err := time.Parse(time.RFC3339, rest)
			return t, d, err == nil
		}
	}
	return "", time.Time{}, false
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// slaRecomputeBatch is how many tickets a recompute reads at once.
const slaRecomputeBatch = 200

// RecomputeSLAs recomputes the SLA of every ticket that is not Closed when the stored
// fingerprint of the SLA configuration differs from the service's, then stores it. It
// returns how many tickets it recomputed (0 when nothing changed). A ticket whose policy
// went away loses its SLA; one that gains a policy gets it, counted from its creation.
func (s *Service) RecomputeSLAs(ctx context.Context, log *slog.Logger) (int, error) {
	want := s.opts.SLA.Fingerprint()
	var have string
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		have, err = tx.SLAFingerprint(ctx)
		return err
	})
	if err != nil || have == want {
		return 0, err
	}
	n := 0
	for after := int64(0); ; {
		var ids []int64
		err := s.store.Read(ctx, func(tx ReadTx) error {
			var err error
			ids, err = tx.SLATicketsAfter(ctx, after, slaRecomputeBatch)
			return err
		})
		if err != nil {
			return n, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			if err := s.store.Write(ctx, func(tx Tx) error { return s.recomputeSLA(ctx, tx, id) }); err != nil {
				return n, err
			}
			n++
		}
		after = ids[len(ids)-1]
	}
	err = s.store.Write(ctx, func(tx Tx) error { return tx.SetSLAFingerprint(ctx, want) })
	if err != nil {
		return n, err
	}
	if log != nil {
		log.Info("sla: configuration changed; recomputed the due times of open tickets", "tickets", n)
	}
	return n, nil
}

// recomputeSLA gives one ticket the due times of the policy that applies to it now. The
// facts stay (first response, pauses); a breach or a warning stays only while the new due
// time keeps it true.
func (s *Service) recomputeSLA(ctx context.Context, tx Tx, id int64) error {
	t, err := tx.Ticket(ctx, id)
	if err != nil {
		return err
	}
	if t.Status == StatusClosed {
		return nil
	}
	w, err := tx.TicketWork(ctx, id, 0)
	if err != nil {
		return err
	}
	p := s.opts.SLA.policyFor(t.Topic, w.DepartmentID)
	if p == nil {
		return tx.DeleteTicketSLA(ctx, id)
	}
	old, err := tx.TicketSLA(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		old = &TicketSLA{TicketID: id, Created: t.CreatedAt}
		if t.Status == StatusResolved {
			old.PausedAt = s.clock.Now()
		}
	} else if err != nil {
		return err
	}
	sla := *old
	p.schedule(&sla)
	now := s.clock.Now()
	// Until when a target's clock ran: the first response, the pause, or now.
	frEnd := now
	if !sla.FirstResponseAt.IsZero() {
		frEnd = sla.FirstResponseAt
	}
	resEnd := now
	if !sla.PausedAt.IsZero() {
		resEnd = sla.PausedAt
	}
	sla.FirstResponseBreached = !sla.FirstResponseDue.IsZero() && sla.FirstResponseBreached && !frEnd.Before(sla.FirstResponseDue)
	if !sla.FirstResponseAt.IsZero() && !sla.FirstResponseDue.IsZero() {
		sla.FirstResponseBreached = sla.FirstResponseAt.After(sla.FirstResponseDue)
	}
	sla.ResolutionBreached = !sla.ResolutionDue.IsZero() && sla.ResolutionBreached && !resEnd.Before(sla.ResolutionDue)
	sla.FirstResponseWarned = sla.FirstResponseWarned && !sla.FirstResponseDue.After(old.FirstResponseDue)
	sla.ResolutionWarned = sla.ResolutionWarned && !sla.ResolutionDue.After(old.ResolutionDue)
	return tx.PutTicketSLA(ctx, &sla)
}
