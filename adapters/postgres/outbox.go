package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// The outbox as the dispatcher reads and updates it: one notification at a time, and for a
// whole batch. Unlike SQLite's, this outbox is shared by several daemon nodes, each running
// the dispatcher, so DueIn claims what it returns.

// claimTTL is how long a notification DueIn returned stays claimed by the node that took
// it. Sending happens outside the claiming transaction: a node that dies mid-send leaves
// its claim to expire, and another node then sends the notification again, with the
// message_ref (the Message-ID) stored before the first send, so that a duplicate is
// recognisable downstream. It must outlast the longest pass of a lane, or another node
// takes over the tail of a batch still being sent: a full batch (100) to the Telegram
// staff chat, paced at one message every 3 s, takes 5 minutes.
const claimTTL = 10 * time.Minute

// ClaimTTL is how long DueIn's claim on a notification holds (past the now it was given)
// when no outcome of it is recorded: how soon another node resends what a dead node was
// sending.
func (db *DB) ClaimTTL() time.Duration { return claimTTL }

// The statements of MarkSent, MarkRetry and MarkFailed, which RecordOutcomes runs too, so
// that an outcome is recorded the same either way. "AND state = 'pending'": a notification
// withdrawn or bounced meanwhile keeps that state. Each ends the node's claim.
const (
	markSentSQL = `UPDATE notifications SET state = 'sent', attempts = $1, sent_at = $2, last_error = '', locked_until = NULL, claimed_by = NULL
		WHERE id = $3 AND state = 'pending'`
	markRetrySQL = `UPDATE notifications SET attempts = $1, next_attempt_at = $2, last_error = $3, locked_until = NULL, claimed_by = NULL
		WHERE id = $4 AND state = 'pending'`
	markFailedSQL = `UPDATE notifications SET state = 'failed', attempts = $1, last_error = $2, locked_until = NULL, claimed_by = NULL
		WHERE id = $3 AND state = 'pending'`
	setMessageRefSQL = `UPDATE notifications SET message_ref = $1 WHERE id = $2`
)

const notificationColumns = `id, event, channel, COALESCE(user_id, 0), recipient, COALESCE(ticket_id, 0),
	COALESCE(message_id, 0), COALESCE(new_status, 0), detail, in_reply_to, COALESCE(message_ref, ''), state, attempts,
	next_attempt_at, last_error, created_at, sent_at`

func scanNotification(s scanner) (core.Notification, error) {
	var n core.Notification
	var event, ch, state string
	var status int
	var next, created time.Time
	var sent *time.Time
	err := s.Scan(&n.ID, &event, &ch, &n.UserID, &n.Recipient, &n.TicketID, &n.MessageID, &status, &n.Detail,
		&n.InReplyTo, &n.MessageRef, &state, &n.Attempts, &next, &n.LastError, &created, &sent)
	n.Kind, n.Channel, n.State, n.NewStatus = core.NotificationKind(event), core.Channel(ch), core.NotificationState(state), core.Status(status)
	n.NextAttemptAt, n.CreatedAt, n.SentAt = next.UTC(), created.UTC(), fromTS(sent)
	return n, err
}

// collectNotifications reads the notification rows of a query.
func collectNotifications(rows pgx.Rows) ([]core.Notification, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Notification, error) { return scanNotification(row) })
}

// bound is a time a query compares against: never NULL, so that the zero time comes
// before every stored time, as SQLite's 0 does.
func bound(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Due returns up to limit pending notifications whose next attempt is due and which no
// node has claimed, oldest first. It claims nothing: it is a look at the outbox (tests,
// tools) over every lane, and a claim would keep what it saw from the dispatchers for
// claimTTL; the dispatcher takes its work through DueIn.
func (db *DB) Due(ctx context.Context, now time.Time, limit int) ([]core.Notification, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE state = 'pending' AND next_attempt_at <= $1 AND `+unclaimed("$1")+`
		ORDER BY next_attempt_at, id LIMIT $2`, bound(now), limit)
	if err != nil {
		return nil, translate(fmt.Errorf("due notifications: %w", err))
	}
	list, err := collectNotifications(rows)
	if err != nil {
		return nil, translate(fmt.Errorf("due notifications: %w", err))
	}
	return list, nil
}

// DueIn claims and returns up to limit pending notifications of a lane whose next attempt
// is due at now (the dispatcher's clock), oldest first. A notification another node
// claimed is skipped until its claim expires; one whose row another DueIn is claiming at
// this moment is skipped at once (SKIP LOCKED), so that concurrent passes split the
// backlog instead of queueing behind each other. The claim lasts claimTTL past now, or
// until an outcome is recorded.
//
// A lane of one recipient (the staff chat) is one node's at a time: while another live
// node holds a claim on a notification of it, nothing of it is claimed. Its posts tell a
// ticket's story in its thread, and two nodes sending parts of it at once could post a
// close before the reply that came first. Claims of such a lane take a transaction lock on
// it first, so that two nodes never both find it free.
func (db *DB) DueIn(ctx context.Context, now time.Time, lane gateway.Lane, limit int) ([]core.Notification, error) {
	at := bound(now)
	oneChat := lane.Recipient != "" && !lane.Except
	q := `SELECT ` + notificationColumns + ` FROM notifications
		WHERE state = 'pending' AND channel = $1 AND next_attempt_at <= $2 AND ` + unclaimed("$2")
	args := []any{string(lane.Channel), at, limit}
	switch {
	case lane.Recipient != "" && lane.Except:
		q += ` AND recipient <> $4`
		args = append(args, lane.Recipient)
	case lane.Recipient != "":
		q += ` AND recipient = $4`
		args = append(args, lane.Recipient)
	}
	q += ` ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED`
	var list []core.Notification
	err := db.claim(ctx, func(tx pgx.Tx) error {
		if oneChat {
			if busy, err := laneBusy(ctx, tx, lane, db.node, at); err != nil || busy {
				return err
			}
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("due notifications in lane %s: %w", lane.Channel, err)
		}
		if list, err = collectNotifications(rows); err != nil {
			return fmt.Errorf("due notifications in lane %s: %w", lane.Channel, err)
		}
		if len(list) == 0 {
			return nil
		}
		ids := make([]int64, len(list))
		for i, n := range list {
			ids[i] = n.ID
		}
		if _, err := tx.Exec(ctx, `UPDATE notifications SET locked_until = $1, claimed_by = $2 WHERE id = ANY($3)`, at.Add(claimTTL), db.node, ids); err != nil {
			return fmt.Errorf("claim due notifications: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// laneBusy locks a lane of one recipient for the claiming transaction and reports whether
// another live node holds a claim on a notification of it.
func laneBusy(ctx context.Context, tx pgx.Tx, lane gateway.Lane, node string, at time.Time) (bool, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('helpdeskd lane ' || $1::text || ' ' || $2::text))`,
		string(lane.Channel), lane.Recipient); err != nil {
		return false, fmt.Errorf("lock lane %s %s: %w", lane.Channel, lane.Recipient, err)
	}
	var busy bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE state = 'pending' AND channel = $1
		AND recipient = $2 AND claimed_by <> $3 AND NOT `+unclaimed("$4")+`)`, string(lane.Channel), lane.Recipient, node, at).Scan(&busy)
	if err != nil {
		return false, fmt.Errorf("claims on lane %s %s: %w", lane.Channel, lane.Recipient, err)
	}
	return busy, nil
}

// unclaimed is the condition that a notification is free to take at the time of parameter
// now: never claimed, its claim past, or the claiming node dead (its liveness lease, renewed
// while its store is open, has expired), so that a node killed mid-send leaves its work to
// the others within nodeTTL rather than claimTTL.
func unclaimed(now string) string {
	return `(locked_until IS NULL OR locked_until < ` + now + ` OR NOT EXISTS (SELECT 1 FROM leases l
		WHERE l.name = 'node:' || notifications.claimed_by AND l.expires_at > clock_timestamp()))`
}

// claim runs fn, a claim of due notifications, in a READ COMMITTED transaction and commits
// it: not at SERIALIZABLE through serial as the store's other writes, because concurrent
// claims read the same range of pending rows and write into it, which SERIALIZABLE takes
// for conflicts and aborts (three nodes draining a backlog together lost most of their
// claims, some twenty times in a row). Claims need no serializability: FOR UPDATE locks
// each row returned, SKIP LOCKED passes over rows another claim holds, and READ COMMITTED
// checks each row it locks again at its newest version, so a row another claim committed
// is left out. The claim writes only locked_until, which no other write reads. A fenced
// context (core.WithFence) is checked as serial checks it.
func (db *DB) claim(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, committedOptions)
	if err != nil {
		return translate(fmt.Errorf("begin claim: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := checkFence(ctx, tx); err != nil {
		return translate(err)
	}
	if err := fn(tx); err != nil {
		return translate(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return translate(fmt.Errorf("commit claim: %w", err))
	}
	return nil
}

// NextDue returns when the next pending notification can be taken (zero time if none):
// its next attempt or, while a node holds a claim on it, the first instant after the
// claim expires, whichever is later. A notification being sent is thus no reason to wake
// up before its claim ends.
func (db *DB) NextDue(ctx context.Context) (time.Time, error) {
	var at *time.Time
	err := db.pool.QueryRow(ctx, `SELECT min(GREATEST(next_attempt_at, locked_until + interval '1 microsecond'))
		FROM notifications WHERE state = 'pending'`).Scan(&at)
	if err != nil {
		return time.Time{}, translate(fmt.Errorf("next due notification: %w", err))
	}
	return fromTS(at), nil
}

// exec runs one statement in a write transaction of its own.
func (db *DB) exec(ctx context.Context, what, q string, args ...any) error {
	return db.serial(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// SetMessageRef stores the channel's ID for a notification before it is sent, so a retry
// (by this node or, after a claim expired, by another) sends the same Message-ID and a
// reply to it threads.
func (db *DB) SetMessageRef(ctx context.Context, id int64, ref string) error {
	return db.exec(ctx, fmt.Sprintf("message ref of notification %d", id), setMessageRefSQL, ref, id)
}

// SetMessageRefs stores the Message-IDs of many notifications in one transaction and one
// round trip. Rows are updated in ID order so that two such writes cannot deadlock.
func (db *DB) SetMessageRefs(ctx context.Context, refs map[int64]string) error {
	ids := make([]int64, 0, len(refs))
	for id := range refs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return db.batch(ctx, "message ref of notification", ids, func(b *pgx.Batch) {
		for _, id := range ids {
			b.Queue(setMessageRefSQL, refs[id], id)
		}
	})
}

// batch runs the statements fill queues in one transaction and one round trip; ids name
// them, in order, for the error of the one that failed.
func (db *DB) batch(ctx context.Context, what string, ids []int64, fill func(*pgx.Batch)) error {
	if len(ids) == 0 {
		return nil
	}
	return db.serial(ctx, func(tx pgx.Tx) error { return sendBatch(ctx, tx, what, ids, fill) })
}

// sendBatch runs the statements fill queues in tx in one round trip, as batch does.
func sendBatch(ctx context.Context, tx pgx.Tx, what string, ids []int64, fill func(*pgx.Batch)) error {
	if len(ids) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	fill(b)
	res := tx.SendBatch(ctx, b)
	for _, id := range ids {
		if _, err := res.Exec(); err != nil {
			res.Close()
			return fmt.Errorf("%s %d: %w", what, id, err)
		}
	}
	return res.Close()
}

// RecordOutcomes records many delivery outcomes in one transaction, each as MarkSent,
// MarkRetry or MarkFailed would. A batch with an outcome that is none records nothing.
func (db *DB) RecordOutcomes(ctx context.Context, outcomes []gateway.DeliveryOutcome) error {
	for _, o := range outcomes {
		switch o.State {
		case core.NotificationSent, core.NotificationFailed, core.NotificationPending:
		default:
			return fmt.Errorf("outcome of notification %d: state %q is no delivery outcome", o.ID, o.State)
		}
	}
	// The failed ones each write a notification.failed change (changes.go) after the batch.
	var ids []int64
	var failed []gateway.DeliveryOutcome
	for _, o := range outcomes {
		if o.State == core.NotificationFailed {
			failed = append(failed, o)
		} else {
			ids = append(ids, o.ID)
		}
	}
	if len(outcomes) == 0 {
		return nil
	}
	return db.serial(ctx, func(tx pgx.Tx) error {
		err := sendBatch(ctx, tx, "outcome of notification", ids, func(b *pgx.Batch) {
			for _, o := range outcomes {
				switch o.State {
				case core.NotificationSent:
					b.Queue(markSentSQL, o.Attempts, ts(o.At), o.ID)
				case core.NotificationPending:
					b.Queue(markRetrySQL, o.Attempts, ts(o.Next), o.LastError, o.ID)
				}
			}
		})
		if err != nil {
			return err
		}
		for _, o := range failed {
			if err := markFailed(ctx, tx, o.ID, o.Attempts, o.LastError, o.At); err != nil {
				return fmt.Errorf("outcome of notification %d: %w", o.ID, err)
			}
		}
		return nil
	})
}

// MarkSent records a delivered notification.
func (db *DB) MarkSent(ctx context.Context, id int64, attempts int, at time.Time) error {
	return db.exec(ctx, fmt.Sprintf("mark notification %d sent", id), markSentSQL, attempts, ts(at), id)
}

// MarkRetry records a failed attempt and when to try again.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return db.exec(ctx, fmt.Sprintf("mark notification %d for a retry", id), markRetrySQL, attempts, ts(next), lastErr, id)
}

// MarkFailed gives a notification up: it is listed for staff, and a notification.failed
// change is written (changes.go).
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string) error {
	return db.serial(ctx, func(tx pgx.Tx) error { return markFailed(ctx, tx, id, attempts, lastErr, time.Time{}) })
}

// Notifications lists notifications in a state, newest first (staff's failed list).
func (db *DB) Notifications(ctx context.Context, state core.NotificationState, limit int) ([]core.Notification, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE state = $1 ORDER BY id DESC LIMIT $2`,
		string(state), limit)
	if err != nil {
		return nil, translate(fmt.Errorf("notifications %s: %w", state, err))
	}
	list, err := collectNotifications(rows)
	if err != nil {
		return nil, translate(fmt.Errorf("notifications %s: %w", state, err))
	}
	return list, nil
}

// TicketOrigin returns the key of the inbound message on channel ch that opened a ticket
// ("" if it was opened another way): mail notifications answer it so they thread.
func (db *DB) TicketOrigin(ctx context.Context, ch core.Channel, ticketID int64) (string, error) {
	var key string
	err := db.pool.QueryRow(ctx, `SELECT key FROM inbound_messages
		WHERE ticket_id = $1 AND channel = $2 AND result = 'ticket' ORDER BY key LIMIT 1`, ticketID, string(ch)).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", translate(fmt.Errorf("origin of ticket %d: %w", ticketID, err))
	}
	return key, nil
}

// TicketOrigins returns TicketOrigin of many tickets in one query; a ticket opened another
// way is absent.
func (db *DB) TicketOrigins(ctx context.Context, ch core.Channel, ticketIDs []int64) (map[int64]string, error) {
	keys := make(map[int64]string, len(ticketIDs))
	if len(ticketIDs) == 0 {
		return keys, nil
	}
	// DISTINCT ON with the order of TicketOrigin's LIMIT 1: the same key either way.
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT ON (ticket_id) ticket_id, key FROM inbound_messages
		WHERE ticket_id = ANY($1) AND channel = $2 AND result = 'ticket' ORDER BY ticket_id, key`, ticketIDs, string(ch))
	if err != nil {
		return nil, translate(fmt.Errorf("origins of tickets: %w", err))
	}
	var id int64
	var key string
	_, err = pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		keys[id] = key
		return nil
	})
	if err != nil {
		return nil, translate(fmt.Errorf("origins of tickets: %w", err))
	}
	return keys, nil
}
