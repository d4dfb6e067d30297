package core

import "context"

// SLAReadTx reads tickets' SLA state.
type SLAReadTx interface {
	// TicketSLA returns a ticket's SLA state, or ENOTFOUND when it has none.
	TicketSLA(ctx context.Context, ticketID int64) (*TicketSLA, error)
	// RunningSLAs lists the SLA states with a target running (TicketSLA.Running), by its
	// due time, at most limit (0: all).
	RunningSLAs(ctx context.Context, limit int) ([]TicketSLA, error)
	// SLATicketsAfter lists the IDs of tickets that are not Closed, above afterID, in
	// order, at most limit: the tickets a recompute walks.
	SLATicketsAfter(ctx context.Context, afterID int64, limit int) ([]int64, error)
	// SLAFingerprint returns the fingerprint of the SLA configuration the stored due times
	// were computed with ("" when none was stored).
	SLAFingerprint(ctx context.Context) (string, error)
}

// SLATx writes tickets' SLA state.
type SLATx interface {
	SLAReadTx
	// PutTicketSLA inserts or replaces a ticket's SLA state; ENOTFOUND if there is no such
	// ticket.
	PutTicketSLA(ctx context.Context, s *TicketSLA) error
	// DeleteTicketSLA removes a ticket's SLA state (none: no error).
	DeleteTicketSLA(ctx context.Context, ticketID int64) error
	// SetSLAFingerprint stores the fingerprint of the SLA configuration.
	SetSLAFingerprint(ctx context.Context, fingerprint string) error
}
