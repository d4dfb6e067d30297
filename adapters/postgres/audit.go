package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

func (t *writeTx) AddAudit(_ context.Context, e *core.AuditEntry) error {
	err := t.tx.QueryRow(t.ctx, `INSERT INTO audit_log (at, actor_user_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5)
		RETURNING id`, ts(e.At), nullID(e.ActorUserID), e.Action, e.Subject, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func (t *readTx) AuditLog(_ context.Context, f core.AuditFilter) ([]core.AuditEntry, error) {
	q := `SELECT id, at, COALESCE(actor_user_id, 0), action, subject, detail FROM audit_log WHERE true`
	args := []any{nil}
	if f.Limit > 0 {
		args[0] = f.Limit // LIMIT NULL: all
	}
	if f.Subject != "" {
		args = append(args, f.Subject)
		q += fmt.Sprintf(` AND subject = $%d`, len(args))
	}
	if f.Action != "" {
		args = append(args, f.Action)
		q += fmt.Sprintf(` AND action = $%d`, len(args))
	}
	rows, err := t.tx.Query(t.ctx, q+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.AuditEntry, error) {
		var e core.AuditEntry
		var at time.Time
		err := row.Scan(&e.ID, &at, &e.ActorUserID, &e.Action, &e.Subject, &e.Detail)
		e.At = at.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return nonNil(list), nil
}
