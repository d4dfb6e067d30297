package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The inbound pipeline's records: what was processed, rejected or bounced.

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

// Reject records an inbound message that changed nothing (a rejected one with its
// inbound.rejected change) and, when notice is set and its recipient got fewer than perDay
// notices in the last 24 hours, queues it — all in one transaction. Returns ECONFLICT if
// the message was recorded before.
func (db *DB) Reject(ctx context.Context, r core.InboundRecord, notice *core.Notification, perDay int) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if err := w.RecordInbound(ctx, &r); err != nil {
			return err
		}
		if r.Result == core.InboundRejected {
			if err := w.addRejectedChange(&r); err != nil {
				return err
			}
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
