package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"helpdeskd/core"
	"helpdeskd/gateway"
)

// This file implements the gateway's ports: the inbound pipeline's records and the outbox.

// Inbound returns the record of a processed inbound message, or ENOTFOUND.
func (db *DB) Inbound(ctx context.Context, ch core.Channel, key string) (*core.InboundRecord, error) {
	r := core.InboundRecord{Channel: ch, Key: key}
	var ticket, msg sql.NullInt64
	var at int64
	err := db.rdb.QueryRowContext(ctx, `SELECT result, ticket_id, message_id, raw_hash, sender, subject, reason, at
		FROM inbound_messages WHERE channel = ? AND key = ?`, string(ch), key).
		Scan(&r.Result, &ticket, &msg, &r.RawHash, &r.Sender, &r.Subject, &r.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Inbound message", key)
	} else if err != nil {
		return nil, fmt.Errorf("inbound %s %q: %w", ch, key, err)
	}
	r.TicketID, r.MessageID, r.At = ticket.Int64, msg.Int64, fromDB(at)
	return &r, nil
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
	n.Event, n.Channel, n.State = core.NotifyEvent(event), core.Channel(ch), core.NotificationState(state)
	n.NextAttemptAt, n.CreatedAt, n.SentAt = fromDB(next), fromDB(created), fromDB(sent)
	return n, err
}

// NotificationByRef returns the notification we sent with a Message-ID, or ENOTFOUND.
func (db *DB) NotificationByRef(ctx context.Context, ref string) (*core.Notification, error) {
	n, err := scanNotification(db.rdb.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE message_ref = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Notification", ref)
	} else if err != nil {
		return nil, fmt.Errorf("notification by ref: %w", err)
	}
	return &n, nil
}

// Reject records an inbound message that changed nothing and, when notice is set and its
// recipient got fewer than perDay notices in the last 24 hours, queues it — both in one
// transaction. Returns ECONFLICT if the message was recorded before.
func (db *DB) Reject(ctx context.Context, r core.InboundRecord, notice *core.Notification, perDay int) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if err := w.RecordInbound(ctx, &r); err != nil {
			return err
		}
		if notice == nil {
			return nil
		}
		var sent int
		err := w.q.QueryRowContext(w.ctx, `SELECT count(*) FROM notifications WHERE event = 'notice' AND recipient = ? AND created_at > ?`,
			notice.Recipient, toDB(r.At.Add(-24*time.Hour))).Scan(&sent)
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
		_, err := w.q.ExecContext(w.ctx, `UPDATE notifications SET state = 'bounced', last_error = ? WHERE id = ?`, reason, notificationID)
		return err
	})
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

// MarkFailed gives a notification up: it is listed for staff.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string) error {
	return db.updateNotification(ctx, markFailedSQL, attempts, lastErr, id)
}

// Notifications lists notifications in a state, newest first (staff's failed list).
func (db *DB) Notifications(ctx context.Context, state core.NotificationState, limit int) ([]core.Notification, error) {
	return db.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE state = ? ORDER BY id DESC LIMIT ?`, string(state), limit)
}

// InboundByResult lists processed inbound messages with a result ("rejected"), newest first.
func (db *DB) InboundByResult(ctx context.Context, result core.InboundResult, limit int) ([]core.InboundRecord, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT channel, key, result, COALESCE(ticket_id, 0), COALESCE(message_id, 0), raw_hash,
		sender, subject, reason, at FROM inbound_messages WHERE result = ? ORDER BY at DESC LIMIT ?`, result, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []core.InboundRecord
	for rows.Next() {
		var r core.InboundRecord
		var ch string
		var at int64
		if err := rows.Scan(&ch, &r.Key, &r.Result, &r.TicketID, &r.MessageID, &r.RawHash, &r.Sender, &r.Subject, &r.Reason, &at); err != nil {
			return nil, err
		}
		r.Channel, r.At = core.Channel(ch), fromDB(at)
		list = append(list, r)
	}
	return list, rows.Err()
}

// Reopenings counts the status changes Resolved → Open of a ticket by a user since a time.
func (db *DB) Reopenings(ctx context.Context, ticketID, userID int64, since time.Time) (int, error) {
	var n int
	err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM ticket_events WHERE ticket_id = ? AND actor_user_id = ?
		AND kind = 'status' AND from_status = ? AND to_status = ? AND at > ?`,
		ticketID, userID, int(core.StatusResolved), int(core.StatusOpen), toDB(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("reopenings of ticket %d: %w", ticketID, err)
	}
	return n, nil
}
