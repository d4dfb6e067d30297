package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file implements core.SLAReadTx and core.SLATx: tickets' SLA state and the
// fingerprint of the SLA configuration (migration 005).

var (
	_ core.SLAReadTx = (*readTx)(nil)
	_ core.SLATx     = (*writeTx)(nil)
)

const slaColumns = `ticket_id, policy, calendar, created_at, first_response_due, first_response_at,
	first_response_breached, first_response_warned, resolution_due, resolution_breached, resolution_warned,
	paused_at, paused_us, stopped_at`

func scanSLA(s scanner) (core.TicketSLA, error) {
	var v core.TicketSLA
	var created time.Time
	var frDue, frAt, resDue, paused, stopped *time.Time
	var pausedUS int64
	err := s.Scan(&v.TicketID, &v.Policy, &v.Calendar, &created, &frDue, &frAt, &v.FirstResponseBreached,
		&v.FirstResponseWarned, &resDue, &v.ResolutionBreached, &v.ResolutionWarned, &paused, &pausedUS, &stopped)
	v.Created, v.FirstResponseDue, v.FirstResponseAt = created.UTC(), fromTS(frDue), fromTS(frAt)
	v.ResolutionDue, v.PausedAt, v.StoppedAt = fromTS(resDue), fromTS(paused), fromTS(stopped)
	v.Paused = time.Duration(pausedUS) * time.Microsecond
	return v, err
}

func (t *readTx) TicketSLA(_ context.Context, ticketID int64) (*core.TicketSLA, error) {
	v, err := scanSLA(t.tx.QueryRow(t.ctx, `SELECT `+slaColumns+` FROM ticket_sla WHERE ticket_id = $1`+t.forUpdate("ticket_sla"), ticketID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENOTFOUND, "Ticket %d has no SLA.", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("sla of ticket %d: %w", ticketID, err)
	}
	return &v, nil
}

func (t *readTx) RunningSLAs(_ context.Context, limit int) ([]core.TicketSLA, error) {
	var lim any // LIMIT NULL: all
	if limit > 0 {
		lim = limit
	}
	rows, err := t.tx.Query(t.ctx, `SELECT `+slaColumns+` FROM ticket_sla WHERE running_due IS NOT NULL
		ORDER BY running_due, ticket_id LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("running slas: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.TicketSLA, error) { return scanSLA(r) })
	if err != nil {
		return nil, fmt.Errorf("running slas: %w", err)
	}
	return nonNil(list), nil
}

func (t *readTx) SLATicketsAfter(_ context.Context, afterID int64, limit int) ([]int64, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id FROM tickets WHERE id > $1 AND status <> $2 ORDER BY id LIMIT $3`,
		afterID, int(core.StatusClosed), limit)
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	return nonNil(ids), nil
}

func (t *readTx) SLAFingerprint(_ context.Context) (string, error) {
	var fp string
	err := t.tx.QueryRow(t.ctx, `SELECT fingerprint FROM sla_state WHERE id = 1`).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("sla fingerprint: %w", err)
	}
	return fp, nil
}

func (t *writeTx) PutTicketSLA(_ context.Context, s *core.TicketSLA) error {
	_, running := s.Running()
	// Inserted from the ticket's row, so that a missing ticket is "not found", not a foreign
	// key's failure (which would abort the whole transaction).
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO ticket_sla (ticket_id, policy, calendar, created_at,
		first_response_due, first_response_at, first_response_breached, first_response_warned, resolution_due,
		resolution_breached, resolution_warned, paused_at, paused_us, stopped_at, due_at, running_due, breached)
		SELECT id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM tickets WHERE id = $17
		ON CONFLICT (ticket_id) DO UPDATE SET policy = excluded.policy, calendar = excluded.calendar,
			created_at = excluded.created_at, first_response_due = excluded.first_response_due,
			first_response_at = excluded.first_response_at, first_response_breached = excluded.first_response_breached,
			first_response_warned = excluded.first_response_warned, resolution_due = excluded.resolution_due,
			resolution_breached = excluded.resolution_breached, resolution_warned = excluded.resolution_warned,
			paused_at = excluded.paused_at, paused_us = excluded.paused_us, stopped_at = excluded.stopped_at,
			due_at = excluded.due_at, running_due = excluded.running_due, breached = excluded.breached`,
		s.Policy, s.Calendar, ts(s.Created), ts(s.FirstResponseDue), ts(s.FirstResponseAt),
		s.FirstResponseBreached, s.FirstResponseWarned, ts(s.ResolutionDue), s.ResolutionBreached,
		s.ResolutionWarned, ts(s.PausedAt), s.Paused.Microseconds(), ts(s.StoppedAt),
		ts(s.DueAt()), ts(running), s.Breached(), s.TicketID)
	if err != nil {
		return fmt.Errorf("put sla of ticket %d: %w", s.TicketID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Ticket", s.TicketID)
	}
	return nil
}

func (t *writeTx) DeleteTicketSLA(_ context.Context, ticketID int64) error {
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM ticket_sla WHERE ticket_id = $1`, ticketID); err != nil {
		return fmt.Errorf("delete sla of ticket %d: %w", ticketID, err)
	}
	return nil
}

func (t *writeTx) SetSLAFingerprint(_ context.Context, fingerprint string) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO sla_state (id, fingerprint) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint`, fingerprint)
	if err != nil {
		return fmt.Errorf("set sla fingerprint: %w", err)
	}
	return nil
}
