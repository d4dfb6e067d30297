package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

var (
	_ core.AutoCloseReadTx = (*readTx)(nil)
	_ core.AutoCloseTx     = (*writeTx)(nil)
)

// quietSince is a Resolved ticket's quiet period's start: the last time it became Resolved
// (its last update for a ticket of no such history line) or its customer's last message,
// whichever is later.
const quietSince = `max(
	COALESCE((SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status' AND e.to_status = 2), t.updated_at),
	COALESCE((SELECT max(m.created_at) FROM messages m WHERE m.ticket_id = t.id AND m.author = 'customer'), 0))`

func (t *readTx) QuietTickets(_ context.Context, f core.QuietFilter) ([]core.QuietTicket, error) {
	inner := `SELECT t.id AS id, ` + quietSince + ` AS since FROM tickets t WHERE t.status = 2 AND t.id > ?`
	args := []any{f.AfterID}
	if f.TicketID != 0 {
		inner += ` AND t.id = ?`
		args = append(args, f.TicketID)
	}
	q := `SELECT q.id, q.since, COALESCE(r.period_start, 0), COALESCE(r.at, 0) FROM (` + inner + `) q
		LEFT JOIN ticket_autoclose r ON r.ticket_id = q.id AND r.step = 'remind' WHERE 1 = 1`
	if !f.QuietSince.IsZero() {
		q += ` AND q.since <= ?`
		args = append(args, toDB(f.QuietSince))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // all
	}
	rows, err := t.q.QueryContext(t.ctx, q+` ORDER BY q.id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("quiet tickets: %w", err)
	}
	defer rows.Close()
	list := []core.QuietTicket{}
	for rows.Next() {
		var qt core.QuietTicket
		var since, remindedFor, remindedAt int64
		if err := rows.Scan(&qt.TicketID, &since, &remindedFor, &remindedAt); err != nil {
			return nil, err
		}
		qt.Since, qt.RemindedFor, qt.RemindedAt = fromDB(since), fromDB(remindedFor), fromDB(remindedAt)
		list = append(list, qt)
	}
	return list, rows.Err()
}

func (t *writeTx) MarkAutoClose(_ context.Context, ticketID int64, step core.AutoCloseStep, since, at time.Time) (bool, error) {
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO ticket_autoclose (ticket_id, step, period_start, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (ticket_id, step) DO UPDATE SET period_start = excluded.period_start, at = excluded.at
		WHERE ticket_autoclose.period_start <> excluded.period_start`, ticketID, string(step), toDB(since), toDB(at))
	if err != nil {
		return false, fmt.Errorf("mark %s of ticket %d: %w", step, ticketID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
