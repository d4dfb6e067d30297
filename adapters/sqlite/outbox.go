package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"helpdeskd/core"
	"helpdeskd/gateway"
)

// This file holds the outbox methods the dispatcher uses for a whole batch: a commit or a
// read transaction shared by many notifications instead of one each.

// The statements of MarkSent, MarkRetry and MarkFailed, which RecordOutcomes runs too, so
// that an outcome is recorded the same either way. "AND state = 'pending'": a notification
// withdrawn or bounced meanwhile keeps that state.
const (
	markSentSQL = `UPDATE notifications SET state = 'sent', attempts = ?, sent_at = ?, last_error = ''
		WHERE id = ? AND state = 'pending'`
	markRetrySQL = `UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ?
		WHERE id = ? AND state = 'pending'`
	markFailedSQL = `UPDATE notifications SET state = 'failed', attempts = ?, last_error = ?
		WHERE id = ? AND state = 'pending'`
	ticketOriginSQL = `SELECT key FROM inbound_messages
		WHERE ticket_id = ? AND channel = ? AND result = 'ticket' LIMIT 1`
)

// RecordOutcomes records many delivery outcomes in one transaction, each as MarkSent,
// MarkRetry or MarkFailed would: the dispatcher's workers pay one fsync for all the
// outcomes that arrived during the previous commit, not one each.
func (db *DB) RecordOutcomes(ctx context.Context, outcomes []gateway.DeliveryOutcome) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		for _, o := range outcomes {
			var err error
			switch o.State {
			case core.NotificationSent:
				_, err = w.q.ExecContext(w.ctx, markSentSQL, o.Attempts, toDB(o.At), o.ID)
			case core.NotificationFailed:
				_, err = w.q.ExecContext(w.ctx, markFailedSQL, o.Attempts, o.LastError, o.ID)
			case core.NotificationPending:
				_, err = w.q.ExecContext(w.ctx, markRetrySQL, o.Attempts, toDB(o.Next), o.LastError, o.ID)
			default:
				err = fmt.Errorf("state %q is no delivery outcome", o.State)
			}
			if err != nil {
				return fmt.Errorf("outcome of notification %d: %w", o.ID, err)
			}
		}
		return nil
	})
}

// TicketOrigins returns TicketOrigin of many tickets, from one read transaction whose
// statement is prepared once; a ticket opened another way is absent.
func (db *DB) TicketOrigins(ctx context.Context, ch core.Channel, ticketIDs []int64) (map[int64]string, error) {
	keys := make(map[int64]string, len(ticketIDs))
	err := db.Read(ctx, func(rtx core.ReadTx) error {
		t := rtx.(*readTx)
		for _, id := range ticketIDs {
			var key string
			err := t.q.QueryRowContext(t.ctx, ticketOriginSQL, id, string(ch)).Scan(&key)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("origin of ticket %d: %w", id, err)
			default:
				keys[id] = key
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// cachedNotifications runs a query of notification rows in a read transaction, whose
// statement is prepared once: DueIn runs before every pass of every lane, and a steady
// trickle of notifications makes passes of a few each, where parsing the query cost as
// much as running it.
func (db *DB) cachedNotifications(ctx context.Context, q string, args ...any) ([]core.Notification, error) {
	var list []core.Notification
	err := db.Read(ctx, func(rtx core.ReadTx) error {
		t := rtx.(*readTx)
		rows, err := t.q.QueryContext(t.ctx, q, args...)
		if err != nil {
			return fmt.Errorf("notifications: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			list = append(list, n)
		}
		return rows.Err()
	})
	return list, err
}
