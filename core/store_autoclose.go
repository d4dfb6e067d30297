package core

import (
	"context"
	"time"
)

// AutoCloseStep is one thing the auto-close job does to a Resolved ticket, at most once
// per quiet period.
type AutoCloseStep string

const (
	AutoCloseRemind AutoCloseStep = "remind"
	AutoCloseClose  AutoCloseStep = "close"
)

// QuietTicket is a Resolved ticket as the auto-close job sees it.
type QuietTicket struct {
	TicketID int64
	// Since starts the ticket's current quiet period: the later of the last time it became
	// Resolved and its customer's last message. A new Resolved period has a new Since, which
	// is what makes the reminder due again.
	Since time.Time
	// RemindedFor is the Since of the period the last reminder was sent for, RemindedAt
	// when it was queued (both zero: never).
	RemindedFor time.Time
	RemindedAt  time.Time
}

// QuietFilter selects Resolved tickets for the auto-close job, by ID.
type QuietFilter struct {
	// QuietSince keeps the tickets whose Since is at or before it.
	QuietSince time.Time
	// TicketID, when set, keeps that ticket only (whatever its Since).
	TicketID int64
	// AfterID keeps the tickets with a greater ID (paging), Limit bounds the page (0: all).
	AfterID int64
	Limit   int
}

// AutoCloseReadTx reads what the auto-close job needs.
type AutoCloseReadTx interface {
	// QuietTickets lists Resolved tickets as f selects them, by ID.
	QuietTickets(ctx context.Context, f QuietFilter) ([]QuietTicket, error)
}

// AutoCloseTx records what the auto-close job did.
type AutoCloseTx interface {
	AutoCloseReadTx
	// MarkAutoClose records that step was done for the ticket's quiet period since, at at.
	// It reports false, and changes nothing, when the step was recorded for that period
	// already: the caller then does not do it again. Safe against a concurrent call (one
	// of them gets true).
	MarkAutoClose(ctx context.Context, ticketID int64, step AutoCloseStep, since, at time.Time) (bool, error)
}
