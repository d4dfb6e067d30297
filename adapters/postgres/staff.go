package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file implements the staff side's writes and small reads: departments, assignment,
// deadlines, favourites, read marks, moderation, split and merge. The queue and its
// search are in staff_queue.go and search.go.

func (t *readTx) Department(_ context.Context, id int64) (*core.Department, error) {
	d := core.Department{ID: id}
	var err error
	d.Name, d.CreatedAt, d.UpdatedAt, err = t.named("departments", "Department", id)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (t *readTx) Departments(_ context.Context) ([]core.Department, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id, name, created_at, updated_at FROM departments ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Department, error) {
		var d core.Department
		var c, u *time.Time
		err := r.Scan(&d.ID, &d.Name, &c, &u)
		d.CreatedAt, d.UpdatedAt = fromTS(c), fromTS(u)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return nonNil(list), nil
}

func (t *readTx) MessageRevisions(_ context.Context, messageID int64) ([]core.MessageRevision, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id, body, COALESCE(edited_by, 0), edited_at
		FROM message_revisions WHERE message_id = $1 ORDER BY id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("revisions of message %d: %w", messageID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.MessageRevision, error) {
		rev := core.MessageRevision{MessageID: messageID}
		var at *time.Time
		err := r.Scan(&rev.ID, &rev.Body, &rev.EditedBy, &at)
		rev.EditedAt = fromTS(at)
		return rev, err
	})
	if err != nil {
		return nil, fmt.Errorf("revisions of message %d: %w", messageID, err)
	}
	return nonNil(list), nil
}

func (t *writeTx) PutDepartment(_ context.Context, d *core.Department) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO departments (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
		d.ID, d.Name, ts(d.CreatedAt), ts(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put department %d: %w", d.ID, err)
	}
	stored, err := t.Department(t.ctx, d.ID)
	if err != nil {
		return err
	}
	*d = *stored
	return nil
}

// staffUpdateTicket runs an UPDATE of one ticket and reports ENOTFOUND when it touched no
// row.
func (t *writeTx) staffUpdateTicket(what string, ticketID int64, q string, args ...any) error {
	tag, err := t.tx.Exec(t.ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s of ticket %d: %w", what, ticketID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Ticket", ticketID)
	}
	return nil
}

func (t *writeTx) SetAssignment(_ context.Context, ticketID, assigneeUserID, departmentID int64) error {
	return t.staffUpdateTicket("set assignment", ticketID, `UPDATE tickets SET assignee_user_id = $1, department_id = $2 WHERE id = $3`,
		nullID(assigneeUserID), nullID(departmentID), ticketID)
}

func (t *writeTx) SetDeadline(_ context.Context, ticketID int64, due time.Time) error {
	return t.staffUpdateTicket("set deadline", ticketID, `UPDATE tickets SET due_at = $1 WHERE id = $2`, ts(due), ticketID)
}

func (t *writeTx) SetArchived(_ context.Context, ticketID int64, archived bool) error {
	return t.staffUpdateTicket("set archived", ticketID, `UPDATE tickets SET archived = $1 WHERE id = $2`, archived, ticketID)
}

func (t *writeTx) SetMergedInto(_ context.Context, id, into int64) error {
	return t.staffUpdateTicket("set merged", id, `UPDATE tickets SET merged_into = $1 WHERE id = $2`, into, id)
}

func (t *writeTx) SetTicketExtras(_ context.Context, ticketID, departmentID int64, serviceType string) error {
	return t.staffUpdateTicket("set extras", ticketID, `UPDATE tickets SET department_id = $1, service_type = $2 WHERE id = $3`,
		nullID(departmentID), serviceType, ticketID)
}

func (t *writeTx) SetFavourite(_ context.Context, userID, ticketID int64, on bool, at time.Time) error {
	var err error
	if on {
		_, err = t.tx.Exec(t.ctx, `INSERT INTO ticket_favourites (user_id, ticket_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, ticket_id) DO NOTHING`, userID, ticketID, ts(at))
	} else {
		_, err = t.tx.Exec(t.ctx, `DELETE FROM ticket_favourites WHERE user_id = $1 AND ticket_id = $2`, userID, ticketID)
	}
	if err != nil {
		return fmt.Errorf("favourite ticket %d for user %d: %w", ticketID, userID, err)
	}
	return nil
}

func (t *writeTx) SetRead(_ context.Context, userID, ticketID int64, read bool, at time.Time) error {
	var err error
	if read {
		_, err = t.tx.Exec(t.ctx, `INSERT INTO ticket_reads (user_id, ticket_id, message_id, at)
			VALUES ($1, $2, COALESCE((SELECT max(id) FROM messages WHERE ticket_id = $2), 0), $3)
			ON CONFLICT (user_id, ticket_id) DO UPDATE SET message_id = excluded.message_id, at = excluded.at`,
			userID, ticketID, ts(at))
	} else {
		_, err = t.tx.Exec(t.ctx, `DELETE FROM ticket_reads WHERE user_id = $1 AND ticket_id = $2`, userID, ticketID)
	}
	if err != nil {
		return fmt.Errorf("read mark of ticket %d for user %d: %w", ticketID, userID, err)
	}
	return nil
}

// staffRecount sets a ticket's message counters from its messages, after messages were
// hidden or moved (CreateMessage counts as it goes).
func (t *writeTx) staffRecount(ticketID int64) error {
	_, err := t.tx.Exec(t.ctx, `UPDATE tickets SET
		message_count = (SELECT count(*) FROM messages WHERE ticket_id = $1),
		public_message_count = (SELECT count(*) FROM messages WHERE ticket_id = $1 AND NOT internal AND NOT hidden)
		WHERE id = $1`, ticketID)
	if err != nil {
		return fmt.Errorf("count messages of ticket %d: %w", ticketID, err)
	}
	return nil
}

func (t *writeTx) SetMessageHidden(_ context.Context, messageID int64, hidden bool) error {
	var ticketID int64
	err := t.tx.QueryRow(t.ctx, `UPDATE messages SET hidden = $1 WHERE id = $2 RETURNING ticket_id`, hidden, messageID).Scan(&ticketID)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("Message", messageID)
	} else if err != nil {
		return fmt.Errorf("hide message %d: %w", messageID, err)
	}
	return t.staffRecount(ticketID)
}

func (t *writeTx) CancelNotifications(_ context.Context, messageID int64) error {
	// Alerts to staff stay: staff see hidden messages.
	_, err := t.tx.Exec(t.ctx, `UPDATE notifications SET state = $1, last_error = 'message hidden'
		WHERE message_id = $2 AND state = 'pending' AND event NOT IN ($3, $4)`,
		string(core.NotificationCanceled), messageID, string(core.NotifyNewTicket), string(core.NotifyCustomerReply))
	if err != nil {
		return fmt.Errorf("cancel notifications of message %d: %w", messageID, err)
	}
	return nil
}

func (t *writeTx) EditMessage(_ context.Context, rev *core.MessageRevision, body string, description bool) error {
	// The message first: its absence is ENOTFOUND here, where a failed revision insert
	// (SQLite's order) would abort the transaction with a foreign key error.
	var ticketID int64
	err := t.tx.QueryRow(t.ctx, `UPDATE messages SET body = $1 WHERE id = $2 RETURNING ticket_id`, body, rev.MessageID).Scan(&ticketID)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("Message", rev.MessageID)
	} else if err != nil {
		return fmt.Errorf("edit message %d: %w", rev.MessageID, err)
	}
	err = t.tx.QueryRow(t.ctx, `INSERT INTO message_revisions (message_id, body, edited_by, edited_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, rev.MessageID, rev.Body, nullID(rev.EditedBy), ts(rev.EditedAt)).Scan(&rev.ID)
	if err != nil {
		return fmt.Errorf("keep revision of message %d: %w", rev.MessageID, err)
	}
	if description {
		if _, err := t.tx.Exec(t.ctx, `UPDATE tickets SET description = $1 WHERE id = $2`, body, ticketID); err != nil {
			return fmt.Errorf("edit description of ticket %d: %w", ticketID, err)
		}
	}
	return nil
}

func (t *writeTx) MoveMessages(_ context.Context, from, to, fromMessageID int64, at time.Time) (int, error) {
	// Attachments first, found through the messages that still name the old ticket.
	if _, err := t.tx.Exec(t.ctx, `UPDATE attachments SET ticket_id = $1
		WHERE message_id IN (SELECT id FROM messages WHERE ticket_id = $2 AND id >= $3)`, to, from, fromMessageID); err != nil {
		return 0, fmt.Errorf("move attachments of ticket %d: %w", from, err)
	}
	// Notifications not yet sent about the moved messages follow them, so they name the
	// ticket the message is now in.
	if _, err := t.tx.Exec(t.ctx, `UPDATE notifications SET ticket_id = $1 WHERE state = 'pending'
		AND message_id IN (SELECT id FROM messages WHERE ticket_id = $2 AND id >= $3)`, to, from, fromMessageID); err != nil {
		return 0, fmt.Errorf("move notifications of ticket %d: %w", from, err)
	}
	// The search trigger re-indexes each moved message under its new ticket's subject.
	tag, err := t.tx.Exec(t.ctx, `UPDATE messages SET ticket_id = $1 WHERE ticket_id = $2 AND id >= $3`, to, from, fromMessageID)
	if err != nil {
		return 0, fmt.Errorf("move messages of ticket %d: %w", from, err)
	}
	for _, id := range []int64{from, to} {
		if err := t.staffRecount(id); err != nil {
			return 0, err
		}
		// GREATEST ignores a NULL (zero) time and never moves updated_at back.
		if _, err := t.tx.Exec(t.ctx, `UPDATE tickets SET updated_at = GREATEST(updated_at, $1) WHERE id = $2`, ts(at), id); err != nil {
			return 0, fmt.Errorf("touch ticket %d: %w", id, err)
		}
	}
	return int(tag.RowsAffected()), nil
}
