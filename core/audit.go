package core

import (
	"context"
	"time"
)

// AuditEntry is one line of the audit log: who did what to what, kept for staff and for the
// data protection officer. Written in the transaction of the act it records.
type AuditEntry struct {
	ID int64
	At time.Time
	// ActorUserID is the user who acted (0: the system, or a CLI run without a user).
	ActorUserID int64
	// Action names the act, e.g. "canned_reply.update", "user.export", "user.erase".
	Action string
	// Subject is what it was done to, e.g. "canned_reply:4", "user:17".
	Subject string
	// Detail is free text; never the personal data the act was about.
	Detail string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	// Subject, when set, keeps the entries about it; Action the entries of it.
	Subject string
	Action  string
	Limit   int
}

// AuditReadTx reads the audit log.
type AuditReadTx interface {
	// AuditLog lists entries as f selects them, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// AuditTx writes the audit log.
type AuditTx interface {
	AuditReadTx
	// AddAudit appends e and sets its ID.
	AddAudit(ctx context.Context, e *AuditEntry) error
}

// audit records an act of actor in tx, at the service's time.
func (s *Service) audit(ctx context.Context, tx Tx, actor Actor, action, subject, detail string) error {
	e := &AuditEntry{At: s.clock.Now(), Action: action, Subject: subject, Detail: detail}
	if actor.User != nil {
		e.ActorUserID = actor.User.ID
	}
	return tx.AddAudit(ctx, e)
}

// AuditLog lists the audit log for an admin, newest first (limit 1–500, default 100).
func (s *Service) AuditLog(ctx context.Context, actor Actor, f AuditFilter) ([]AuditEntry, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 500 {
		return nil, Invalid("limit", "must be between 1 and 500")
	}
	var out []AuditEntry
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.AuditLog(ctx, f)
		return err
	})
	return out, err
}
