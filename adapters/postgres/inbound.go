package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The inbound pipeline's records: what was processed, rejected or bounced.

const inboundColumns = `channel, key, result, COALESCE(ticket_id, 0), COALESCE(message_id, 0), raw_hash,
	sender, subject, reason, at`

func scanInbound(s scanner) (core.InboundRecord, error) {
	var r core.InboundRecord
	var ch, result string
	var at time.Time
	err := s.Scan(&ch, &r.Key, &result, &r.TicketID, &r.MessageID, &r.RawHash, &r.Sender, &r.Subject, &r.Reason, &at)
	r.Channel, r.Result, r.At = core.Channel(ch), core.InboundResult(result), at.UTC()
	return r, err
}

// Inbound returns the record of a processed inbound message, or ENOTFOUND.
func (db *DB) Inbound(ctx context.Context, ch core.Channel, key string) (*core.InboundRecord, error) {
	r, err := scanInbound(db.pool.QueryRow(ctx, `SELECT `+inboundColumns+`
		FROM inbound_messages WHERE channel = $1 AND key = $2`, string(ch), key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Inbound message", key)
	} else if err != nil {
		return nil, translate(fmt.Errorf("inbound %s %q: %w", ch, key, err))
	}
	return &r, nil
}

// NotificationByRef returns the notification we sent with a Message-ID, or ENOTFOUND.
func (db *DB) NotificationByRef(ctx context.Context, ref string) (*core.Notification, error) {
	n, err := scanNotification(db.pool.QueryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE message_ref = $1`, ref))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Notification", ref)
	} else if err != nil {
		return nil, translate(fmt.Errorf("notification by ref: %w", err))
	}
	return &n, nil
}

// noticeLock is the first key of the advisory locks of Reject's daily notice count (the
// second is the recipient's hash).
const noticeLock = 0x68646e74 // "hdnt"

// Reject records an inbound message that changed nothing (a rejected one with its
// inbound.rejected change) and, when notice is set and its recipient got fewer than perDay
// notices in the last 24 hours, queues it — all in one transaction. Returns ECONFLICT if
// the message was recorded before.
//
// The count and the insert run under a transaction-scoped advisory lock of the recipient:
// writes run at READ COMMITTED, where two rejections of one sender's mail at once (two
// workers, two nodes) would both count the notices before either queued one, and both
// queue the last of the day. The second waits for the first's commit and then counts it.
func (db *DB) Reject(ctx context.Context, r core.InboundRecord, notice *core.Notification, perDay int) error {
	// Write, not serial alone: it wakes the dispatcher when the notice is queued.
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if err := w.RecordInbound(ctx, &r); err != nil {
			return err
		}
		if r.Result == core.InboundRejected {
			if err := addRejectedChange(w.ctx, w.tx, &r); err != nil {
				return err
			}
		}
		if notice == nil {
			return nil
		}
		if _, err := w.tx.Exec(w.ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, noticeLock, notice.Recipient); err != nil {
			return fmt.Errorf("lock notices to %s: %w", notice.Recipient, err)
		}
		var sent int
		// A statement after the lock: READ COMMITTED gives it a snapshot with the commit of
		// whoever held it.
		err := w.tx.QueryRow(w.ctx, `SELECT count(*) FROM notifications WHERE event = 'notice' AND recipient = $1 AND created_at > $2`,
			notice.Recipient, bound(r.At.Add(-24*time.Hour))).Scan(&sent)
		if err != nil {
			return fmt.Errorf("count notices: %w", err)
		}
		if sent >= perDay {
			return nil
		}
		n := *notice
		n.State, n.CreatedAt, n.NextAttemptAt = core.NotificationPending, r.At, r.At
		return w.AddNotification(ctx, &n)
	})
}

// MarkBounced records a delivery report and marks the notification it is about bounced,
// in one transaction. Returns ECONFLICT if the report was recorded before.
func (db *DB) MarkBounced(ctx context.Context, notificationID int64, reason string, r core.InboundRecord) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if err := w.RecordInbound(ctx, &r); err != nil {
			return err
		}
		// A claim (see claimTTL) ends with the bounce: nothing is left to send.
		_, err := w.tx.Exec(w.ctx, `UPDATE notifications SET state = 'bounced', last_error = $1, locked_until = NULL, claimed_by = NULL WHERE id = $2`,
			reason, notificationID)
		if err != nil {
			return fmt.Errorf("mark notification %d bounced: %w", notificationID, err)
		}
		return nil
	})
}

// InboundByResult lists processed inbound messages with a result ("rejected"), newest first.
func (db *DB) InboundByResult(ctx context.Context, result core.InboundResult, limit int) ([]core.InboundRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+inboundColumns+` FROM inbound_messages
		WHERE result = $1 ORDER BY at DESC LIMIT $2`, string(result), limit)
	if err != nil {
		return nil, translate(fmt.Errorf("inbound messages %s: %w", result, err))
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.InboundRecord, error) { return scanInbound(row) })
	if err != nil {
		return nil, translate(fmt.Errorf("inbound messages %s: %w", result, err))
	}
	return list, nil
}

// Reopenings counts the status changes Resolved → Open of a ticket by a user since a time.
func (db *DB) Reopenings(ctx context.Context, ticketID, userID int64, since time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND actor_user_id = $2
		AND kind = 'status' AND from_status = $3 AND to_status = $4 AND at > $5`,
		ticketID, userID, int(core.StatusResolved), int(core.StatusOpen), bound(since)).Scan(&n)
	if err != nil {
		return 0, translate(fmt.Errorf("reopenings of ticket %d: %w", ticketID, err))
	}
	return n, nil
}
