package core

import (
	"context"
	"time"
)

// How a ticket's SLA state follows the ticket: given at creation, met by the first public
// staff reply, paused by Resolved, resumed by a reopen, stopped by Closed. Each hook runs in
// the transaction of the change it follows, so the due times never disagree with the ticket.

// slaPolicyNamed returns the configured policy of that name, or nil.
func (s *Service) slaPolicyNamed(name string) *SLAPolicy {
	for i := range s.opts.SLA.Policies {
		if s.opts.SLA.Policies[i].Name == name {
			return &s.opts.SLA.Policies[i]
		}
	}
	return nil
}

// schedule fills the due times of st from policy p: each target counted in business time
// from the ticket's creation, the resolution's plus the business time it was paused.
func (p *SLAPolicy) schedule(st *TicketSLA) {
	st.Policy = p.Name
	st.Calendar, st.FirstResponseDue, st.ResolutionDue = "", time.Time{}, time.Time{}
	if p.Calendar == nil {
		return
	}
	st.Calendar = p.Calendar.Name
	if p.FirstResponse > 0 {
		st.FirstResponseDue = p.Calendar.AddBusiness(st.Created, p.FirstResponse)
	}
	if p.Resolution > 0 {
		st.ResolutionDue = p.Calendar.AddBusiness(st.Created, p.Resolution+st.Paused)
	}
}

// slaStart gives a new ticket the SLA of its policy, if one applies.
func (s *Service) slaStart(ctx context.Context, tx Tx, t *Ticket, departmentID int64) error {
	p := s.opts.SLA.policyFor(t.Topic, departmentID)
	if p == nil {
		return nil
	}
	sla := &TicketSLA{TicketID: t.ID, Created: t.CreatedAt}
	p.schedule(sla)
	return tx.PutTicketSLA(ctx, sla)
}

// slaFirstResponse records a public staff reply at now as the ticket's first response, and
// returns the target it breached (none when met or already recorded).
func (s *Service) slaFirstResponse(ctx context.Context, tx Tx, ticketID int64, now time.Time) ([]SLATarget, error) {
	sla, err := tx.TicketSLA(ctx, ticketID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if !sla.FirstResponseAt.IsZero() || !sla.StoppedAt.IsZero() {
		return nil, nil
	}
	sla.FirstResponseAt = now
	var breached []SLATarget
	if !sla.FirstResponseDue.IsZero() && now.After(sla.FirstResponseDue) && !sla.FirstResponseBreached {
		sla.FirstResponseBreached = true
		breached = append(breached, SLAFirstResponse)
	}
	return breached, tx.PutTicketSLA(ctx, sla)
}

// slaStatus moves the clocks with a status change from → to at now: Resolved pauses the
// resolution clock, leaving Resolved for Open or In Progress resumes it (its due time moves
// by the business time paused), Closed stops everything.
func (s *Service) slaStatus(ctx context.Context, tx Tx, ticketID int64, from, to Status, now time.Time) error {
	if from == to {
		return nil
	}
	sla, err := tx.TicketSLA(ctx, ticketID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !sla.StoppedAt.IsZero() {
		return nil
	}
	switch {
	case to == StatusClosed:
		sla.StoppedAt = now
	case to == StatusResolved:
		if sla.PausedAt.IsZero() {
			sla.PausedAt = now
		}
	case !sla.PausedAt.IsZero():
		p := s.slaPolicyNamed(sla.Policy)
		if p == nil || p.Calendar == nil {
			// The policy left the configuration; the start's recompute will settle the
			// ticket, until then its due times stay.
			sla.PausedAt = time.Time{}
			break
		}
		sla.Paused += p.Calendar.BusinessBetween(sla.PausedAt, now)
		sla.PausedAt = time.Time{}
		p.schedule(sla)
	default:
		return nil
	}
	return tx.PutTicketSLA(ctx, sla)
}
