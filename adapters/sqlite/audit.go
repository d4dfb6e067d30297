package sqlite

import (
	"context"
	"fmt"

	"github.com/helpdeskd/helpdeskd/core"
)

func (t *writeTx) AddAudit(_ context.Context, e *core.AuditEntry) error {
	var err error
	e.ID, err = t.insert(`INSERT INTO audit_log (at, actor_user_id, action, subject, detail) VALUES (?, ?, ?, ?, ?)`,
		toDB(e.At), nullInt(e.ActorUserID), e.Action, e.Subject, e.Detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func (t *readTx) AuditLog(_ context.Context, f core.AuditFilter) ([]core.AuditEntry, error) {
	q := `SELECT id, at, COALESCE(actor_user_id, 0), action, subject, detail FROM audit_log WHERE 1 = 1`
	var args []any
	if f.Subject != "" {
		q += ` AND subject = ?`
		args = append(args, f.Subject)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // all
	}
	rows, err := t.q.QueryContext(t.ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	list := []core.AuditEntry{}
	for rows.Next() {
		var e core.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorUserID, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromDB(at)
		list = append(list, e)
	}
	return list, rows.Err()
}
