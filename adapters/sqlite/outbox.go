package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// The outbox as the dispatcher reads and updates it: one notification at a time, and for a
// whole batch (a commit or a read transaction shared by many notifications).

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
		WHERE ticket_id = ? AND channel = ? AND result = 'ticket' ORDER BY key LIMIT 1`
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
				err = w.markFailed(o.ID, o.Attempts, o.LastError, o.At)
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

// TicketOrigin returns the key of the inbound message on channel ch that opened a ticket
// ("" if it was opened another way): mail notifications answer it so they thread.
func (db *DB) TicketOrigin(ctx context.Context, ch core.Channel, ticketID int64) (string, error) {
	var key string
	err := db.rdb.QueryRowContext(ctx, ticketOriginSQL, ticketID, string(ch)).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return key, err
}

const notificationColumns = `id, event, channel, COALESCE(user_id, 0), recipient, COALESCE(ticket_id, 0),
	COALESCE(message_id, 0), COALESCE(new_status, 0), detail, in_reply_to, COALESCE(message_ref, ''), state, attempts,
	next_attempt_at, last_error, created_at, COALESCE(sent_at, 0)`

func scanNotification(s scanner) (core.Notification, error) {
	var n core.Notification
	var event, ch, state string
	var next, created, sent int64
	err := s.Scan(&n.ID, &event, &ch, &n.UserID, &n.Recipient, &n.TicketID, &n.MessageID, &n.NewStatus, &n.Detail,
		&n.InReplyTo, &n.MessageRef, &state, &n.Attempts, &next, &n.LastError, &created, &sent)
	n.Kind, n.Channel, n.State = core.NotificationKind(event), core.Channel(ch), core.NotificationState(state)
	n.NextAttemptAt, n.CreatedAt, n.SentAt = fromDB(next), fromDB(created), fromDB(sent)
	return n, err
}

// SetOnQueued has fn called after every commit that queued notifications (the outbox
// dispatcher's Kick), so they need not wait for its poll. fn must not block: the writer
// calls it between batches.
func (db *DB) SetOnQueued(fn func()) { db.onQueued.Store(&fn) }

// Due returns up to limit pending notifications whose next attempt is due, oldest first.
func (db *DB) Due(ctx context.Context, now time.Time, limit int) ([]core.Notification, error) {
	return db.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, toDB(now), limit)
}

// DueIn returns up to limit pending notifications of a lane whose next attempt is due,
// oldest first.
func (db *DB) DueIn(ctx context.Context, now time.Time, lane gateway.Lane, limit int) ([]core.Notification, error) {
	q := `SELECT ` + notificationColumns + ` FROM notifications INDEXED BY notifications_lane_due
		WHERE state = 'pending' AND channel = ? AND next_attempt_at <= ?`
	args := []any{string(lane.Channel), toDB(now)}
	switch {
	case lane.Recipient != "" && lane.Except:
		q += ` AND recipient <> ?`
		args = append(args, lane.Recipient)
	case lane.Recipient != "":
		q += ` AND recipient = ?`
		args = append(args, lane.Recipient)
	}
	return db.cachedNotifications(ctx, q+` ORDER BY next_attempt_at, id LIMIT ?`, append(args, limit)...)
}

// notifications runs a query of notification rows.
func (db *DB) notifications(ctx context.Context, q string, args ...any) ([]core.Notification, error) {
	rows, err := db.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	defer rows.Close()
	var list []core.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return list, rows.Err()
}

// NextDue returns when the next pending notification is due (zero time if none).
func (db *DB) NextDue(ctx context.Context) (time.Time, error) {
	var at int64
	// Not min(): SQLite answers that through notifications_state, reading every pending row.
	err := db.rdb.QueryRowContext(ctx, `SELECT next_attempt_at FROM notifications INDEXED BY notifications_due
		WHERE state = 'pending' ORDER BY next_attempt_at LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, err
	}
	return fromDB(at), nil
}

func (db *DB) updateNotification(ctx context.Context, q string, args ...any) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		_, err := w.q.ExecContext(w.ctx, q, args...)
		return err
	})
}

// SetMessageRef stores the channel's ID for a notification before it is sent, so a retry
// sends the same Message-ID and a reply to it threads.
func (db *DB) SetMessageRef(ctx context.Context, id int64, ref string) error {
	return db.updateNotification(ctx, `UPDATE notifications SET message_ref = ? WHERE id = ?`, ref, id)
}

// SetMessageRefs stores the Message-IDs of many notifications in one transaction: the
// dispatcher's batch pays one fsync for them, not one each.
func (db *DB) SetMessageRefs(ctx context.Context, refs map[int64]string) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		for id, ref := range refs {
			if _, err := w.q.ExecContext(w.ctx, `UPDATE notifications SET message_ref = ? WHERE id = ?`, ref, id); err != nil {
				return fmt.Errorf("message ref of notification %d: %w", id, err)
			}
		}
		return nil
	})
}

// MarkSent records a delivered notification.
func (db *DB) MarkSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	return db.updateNotification(ctx, markSentSQL, attempts, toDB(at), id)
}

// MarkRetry records a failed attempt and when to try again.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return db.updateNotification(ctx, markRetrySQL, attempts, toDB(next), lastErr, id)
}

// MarkFailed gives a notification up: it is listed for staff, and a notification.failed
// change is written (changes.go).
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string) error {
	return db.Write(ctx, func(tx core.Tx) error { return tx.(*writeTx).markFailed(id, attempts, lastErr, time.Time{}) })
}

// Notifications lists notifications in a state, newest first (staff's failed list).
func (db *DB) Notifications(ctx context.Context, state core.NotificationState, limit int) ([]core.Notification, error) {
	return db.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE state = ? ORDER BY id DESC LIMIT ?`, string(state), limit)
}
