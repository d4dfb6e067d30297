package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file implements core.SLAReadTx and core.SLATx: tickets' SLA state and the
// fingerprint of the SLA configuration (migration 014).

var (
	_ core.SLAReadTx = (*readTx)(nil)
	_ core.SLATx     = (*writeTx)(nil)
)

const slaColumns = `ticket_id, policy, calendar, created_at, COALESCE(first_response_due, 0), COALESCE(first_response_at, 0),
	first_response_breached, first_response_warned, COALESCE(resolution_due, 0), resolution_breached, resolution_warned,
	COALESCE(paused_at, 0), paused_us, COALESCE(stopped_at, 0)`

func scanSLA(s scanner) (core.TicketSLA, error) {
	var v core.TicketSLA
	var created, frDue, frAt, resDue, paused, pausedUS, stopped int64
	err := s.Scan(&v.TicketID, &v.Policy, &v.Calendar, &created, &frDue, &frAt, &v.FirstResponseBreached,
		&v.FirstResponseWarned, &resDue, &v.ResolutionBreached, &v.ResolutionWarned, &paused, &pausedUS, &stopped)
	v.Created, v.FirstResponseDue, v.FirstResponseAt = fromDB(created), fromDB(frDue), fromDB(frAt)
	v.ResolutionDue, v.PausedAt, v.StoppedAt = fromDB(resDue), fromDB(paused), fromDB(stopped)
	v.Paused = time.Duration(pausedUS) * time.Microsecond
	return v, err
}

func (t *readTx) TicketSLA(_ context.Context, ticketID int64) (*core.TicketSLA, error) {
	v, err := scanSLA(t.q.QueryRowContext(t.ctx, `SELECT `+slaColumns+` FROM ticket_sla WHERE ticket_id = ?`, ticketID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, core.Errorf(core.ENOTFOUND, "Ticket %d has no SLA.", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("sla of ticket %d: %w", ticketID, err)
	}
	return &v, nil
}

func (t *readTx) RunningSLAs(_ context.Context, limit int) ([]core.TicketSLA, error) {
	if limit <= 0 {
		limit = -1 // all
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+slaColumns+` FROM ticket_sla WHERE running_due IS NOT NULL
		ORDER BY running_due, ticket_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("running slas: %w", err)
	}
	defer rows.Close()
	list := []core.TicketSLA{}
	for rows.Next() {
		v, err := scanSLA(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

func (t *readTx) SLATicketsAfter(_ context.Context, afterID int64, limit int) ([]int64, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id FROM tickets WHERE id > ? AND status <> ? ORDER BY id LIMIT ?`,
		afterID, int(core.StatusClosed), limit)
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (t *readTx) SLAFingerprint(_ context.Context) (string, error) {
	var fp string
	err := t.q.QueryRowContext(t.ctx, `SELECT fingerprint FROM sla_state WHERE id = 1`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("sla fingerprint: %w", err)
	}
	return fp, nil
}

func (t *writeTx) PutTicketSLA(_ context.Context, s *core.TicketSLA) error {
	_, running := s.Running()
	// Inserted from the ticket's row, so that a missing ticket is "not found", not a foreign
	// key's failure.
	res, err := t.q.ExecContext(t.ctx, `INSERT OR REPLACE INTO ticket_sla (ticket_id, policy, calendar, created_at,
		first_response_due, first_response_at, first_response_breached, first_response_warned, resolution_due,
		resolution_breached, resolution_warned, paused_at, paused_us, stopped_at, due_at, running_due, breached)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM tickets WHERE id = ?`,
		s.Policy, s.Calendar, toDB(s.Created), nullInt(toDB(s.FirstResponseDue)), nullInt(toDB(s.FirstResponseAt)),
		s.FirstResponseBreached, s.FirstResponseWarned, nullInt(toDB(s.ResolutionDue)), s.ResolutionBreached,
		s.ResolutionWarned, nullInt(toDB(s.PausedAt)), s.Paused.Microseconds(), nullInt(toDB(s.StoppedAt)),
		nullInt(toDB(s.DueAt())), nullInt(toDB(running)), s.Breached(), s.TicketID)
	if err != nil {
		return fmt.Errorf("put sla of ticket %d: %w", s.TicketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Ticket", s.TicketID)
	}
	return nil
}

func (t *writeTx) DeleteTicketSLA(_ context.Context, ticketID int64) error {
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM ticket_sla WHERE ticket_id = ?`, ticketID); err != nil {
		return fmt.Errorf("delete sla of ticket %d: %w", ticketID, err)
	}
	return nil
}

func (t *writeTx) SetSLAFingerprint(_ context.Context, fingerprint string) error {
	_, err := t.q.ExecContext(t.ctx, `INSERT INTO sla_state (id, fingerprint) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint`, fingerprint)
	if err != nil {
		return fmt.Errorf("set sla fingerprint: %w", err)
	}
	return nil
}
