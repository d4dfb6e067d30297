package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SLA policies: a first-response and a resolution target in business time (Calendar), picked
// for a ticket by its topic and department. The targets' due times are kept per ticket
// (TicketSLA) and moved by what happens to it: a first public staff reply meets the first
// response, Resolved pauses the resolution clock, a reopen resumes it, Closed stops it.

// SLATarget names one of a policy's two targets; it is the label of the breach counter.
type SLATarget string

const (
	SLAFirstResponse SLATarget = "first_response"
	SLAResolution    SLATarget = "resolution"
)

// SLAPolicy is one [[sla.policies]] entry. A policy with neither Topic nor DepartmentID is
// the default.
type SLAPolicy struct {
	// Name identifies the policy in the ticket's SLA and the logs (e.g. "topic=Billing").
	Name         string
	Topic        *Topic
	DepartmentID int64 // 0: any department
	Calendar     *Calendar
	// FirstResponse and Resolution are business time; 0 means no such target.
	FirstResponse time.Duration
	Resolution    time.Duration
}

// SLAOptions configures SLA policies ([sla]). No policy: no ticket gets an SLA.
type SLAOptions struct {
	Policies []SLAPolicy
	// WarnBefore is how much business time before a due time staff are warned.
	WarnBefore time.Duration
}

// matches reports whether p applies to a ticket of topic and department, and how specific
// it is: both set beats a department, which beats a topic, which beats the default.
func (p *SLAPolicy) matches(topic Topic, departmentID int64) (bool, int) {
	score := 0
	if p.Topic != nil {
		if *p.Topic != topic {
			return false, 0
		}
		score++
	}
	if p.DepartmentID != 0 {
		if p.DepartmentID != departmentID {
			return false, 0
		}
		score += 2
	}
	return true, score
}

// policyFor returns the most specific policy for a ticket (the first listed among equals),
// or nil.
func (o *SLAOptions) policyFor(topic Topic, departmentID int64) *SLAPolicy {
	var best *SLAPolicy
	bestScore := -1
	for i := range o.Policies {
		p := &o.Policies[i]
		if ok, score := p.matches(topic, departmentID); ok && score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// Fingerprint is a digest of everything that decides due times: the policies, their
// calendars and holidays. A change of it at start makes open tickets' due times recomputed.
// Without policies it is "".
func (o *SLAOptions) Fingerprint() string {
	if len(o.Policies) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range o.Policies {
		fmt.Fprintf(&b, "policy %q topic=%v dept=%d fr=%d res=%d\n", p.Name, topicKey(p.Topic), p.DepartmentID,
			p.FirstResponse, p.Resolution)
		if c := p.Calendar; c != nil {
			fmt.Fprintf(&b, " calendar %q %s %v\n", c.Name, c.loc().String(), c.Week)
			days := make([]string, 0, len(c.Holidays))
			for d := range c.Holidays {
				days = append(days, d)
			}
			sort.Strings(days)
			fmt.Fprintf(&b, " holidays %v\n", days)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func topicKey(t *Topic) string {
	if t == nil {
		return "*"
	}
	return t.String()
}

// TicketSLA is a ticket's SLA state: the policy it was given and where its targets stand.
type TicketSLA struct {
	TicketID int64
	Policy   string
	Calendar string
	// Created is when the clocks started (the ticket's creation).
	Created time.Time

	FirstResponseDue      time.Time // zero: no first-response target
	FirstResponseAt       time.Time // zero: no public staff reply yet
	FirstResponseBreached bool
	FirstResponseWarned   bool

	ResolutionDue      time.Time // zero: no resolution target
	ResolutionBreached bool
	ResolutionWarned   bool

	// PausedAt is set while the ticket is Resolved; Paused is the business time of the
	// pauses that ended, which the resolution due time includes.
	PausedAt time.Time
	Paused   time.Duration
	// StoppedAt is set when the ticket was closed: nothing runs any more.
	StoppedAt time.Time
}

// Running returns the target whose clock runs now and its due time: the first response
// until a public staff reply, then the resolution. None ("", zero) while paused or stopped,
// or when the running target is breached already (nothing more to watch).
func (s *TicketSLA) Running() (SLATarget, time.Time) {
	if !s.StoppedAt.IsZero() || !s.PausedAt.IsZero() {
		return "", time.Time{}
	}
	if s.FirstResponseAt.IsZero() && !s.FirstResponseDue.IsZero() {
		if s.FirstResponseBreached {
			return "", time.Time{}
		}
		return SLAFirstResponse, s.FirstResponseDue
	}
	if !s.ResolutionDue.IsZero() && !s.ResolutionBreached {
		return SLAResolution, s.ResolutionDue
	}
	return "", time.Time{}
}

// DueAt is the due time the queue shows and sorts by (unless a manual deadline overrides
// it): the running target's, or the first response's while it is still unmet and breached.
// Zero while paused or stopped.
func (s *TicketSLA) DueAt() time.Time {
	if !s.StoppedAt.IsZero() || !s.PausedAt.IsZero() {
		return time.Time{}
	}
	if s.FirstResponseAt.IsZero() && !s.FirstResponseDue.IsZero() {
		return s.FirstResponseDue
	}
	return s.ResolutionDue
}

// Breached reports whether either target was missed.
func (s *TicketSLA) Breached() bool { return s.FirstResponseBreached || s.ResolutionBreached }

// SLAObserver is told of each target marked breached, after the commit (metrics). The
// Service's Observer is asked for it; an Observer without it hears nothing of SLAs.
type SLAObserver interface {
	SLABreached(target SLATarget)
}

func (s *Service) slaBreached(targets []SLATarget) {
	o, ok := s.opts.Observer.(SLAObserver)
	if !ok {
		return
	}
	for _, t := range targets {
		o.SLABreached(t)
	}
}
