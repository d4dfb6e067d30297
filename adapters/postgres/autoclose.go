package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

var (
	_ core.AutoCloseReadTx = (*readTx)(nil)
	_ core.AutoCloseTx     = (*writeTx)(nil)
)

// quietSince is a Resolved ticket's quiet period's start, as in the SQLite store.
const quietSince = `GREATEST(
	COALESCE((SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status' AND e.to_status = 2), t.updated_at),
	(SELECT max(m.created_at) FROM messages m WHERE m.ticket_id = t.id AND m.author = 'customer'))`

func (t *readTx) QuietTickets(_ context.Context, f core.QuietFilter) ([]core.QuietTicket, error) {
	args := []any{f.AfterID, nil}
	if f.Limit > 0 {
		args[1] = f.Limit // LIMIT NULL: all
	}
	inner := `SELECT t.id AS id, ` + quietSince + ` AS since FROM tickets t WHERE t.status = 2 AND t.id > $1`
	if f.TicketID != 0 {
		args = append(args, f.TicketID)
		inner += fmt.Sprintf(` AND t.id = $%d`, len(args))
	}
	q := `SELECT q.id, q.since, r.period_start, r.at FROM (` + inner + `) q
		LEFT JOIN ticket_autoclose r ON r.ticket_id = q.id AND r.step = 'remind' WHERE true`
	if !f.QuietSince.IsZero() {
		args = append(args, ts(f.QuietSince))
		q += fmt.Sprintf(` AND q.since <= $%d`, len(args))
	}
	rows, err := t.tx.Query(t.ctx, q+` ORDER BY q.id LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("quiet tickets: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.QuietTicket, error) {
		var qt core.QuietTicket
		var since time.Time
		var remindedFor, remindedAt *time.Time
		err := row.Scan(&qt.TicketID, &since, &remindedFor, &remindedAt)
		qt.Since = since.UTC()
		if remindedFor != nil && remindedAt != nil {
			qt.RemindedFor, qt.RemindedAt = remindedFor.UTC(), remindedAt.UTC()
		}
		return qt, err
	})
	if err != nil {
		return nil, fmt.Errorf("quiet tickets: %w", err)
	}
	return nonNil(list), nil
}

func (t *writeTx) MarkAutoClose(_ context.Context, ticketID int64, step core.AutoCloseStep, since, at time.Time) (bool, error) {
	// Under READ COMMITTED a concurrent insert of the same row waits for the other to
	// commit and then sees its period: one of them changes a row, the other none.
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO ticket_autoclose (ticket_id, step, period_start, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ticket_id, step) DO UPDATE SET period_start = excluded.period_start, at = excluded.at
		WHERE ticket_autoclose.period_start <> excluded.period_start`, ticketID, string(step), ts(since), ts(at))
	if err != nil {
		return false, fmt.Errorf("mark %s of ticket %d: %w", step, ticketID, err)
	}
	return tag.RowsAffected() > 0, nil
}
