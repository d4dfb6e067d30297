package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlitelib "modernc.org/sqlite/lib"

	"github.com/helpdeskd/helpdeskd/core"
)

// The forum topics of tickets in the staff chat (the Telegram gateway's TopicStore): which
// topic each ticket has, whether it is closed, and which ticket a topic belongs to.

// TelegramTopic returns the topic of a ticket in chat: its thread (0: none) and whether it
// was closed.
func (db *DB) TelegramTopic(ctx context.Context, chatID, ticketID int64) (int64, bool, error) {
	var thread int64
	var closed bool
	err := db.rdb.QueryRowContext(ctx, `SELECT thread_id, closed FROM telegram_topics WHERE chat_id = ? AND ticket_id = ?`,
		chatID, ticketID).Scan(&thread, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("telegram topic of ticket %d in chat %d: %w", ticketID, chatID, err)
	}
	return thread, closed, nil
}

// AddTelegramTopic records a new, open topic of a ticket and returns its thread; when the
// ticket has a topic in chat already it changes nothing and returns that one's thread.
// Returns ECONFLICT if thread is another ticket's topic in chat.
func (db *DB) AddTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) (int64, error) {
	var got int64
	err := db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if _, err := w.q.ExecContext(w.ctx, `INSERT INTO telegram_topics (chat_id, ticket_id, thread_id, closed, created_at)
			VALUES (?, ?, ?, 0, ?) ON CONFLICT (chat_id, ticket_id) DO NOTHING`,
			chatID, ticketID, thread, toDB(time.Now())); err != nil {
			return fmt.Errorf("add telegram topic %d of ticket %d in chat %d: %w", thread, ticketID, chatID, topicConflict(err))
		}
		err := w.q.QueryRowContext(w.ctx, `SELECT thread_id FROM telegram_topics WHERE chat_id = ? AND ticket_id = ?`,
			chatID, ticketID).Scan(&got)
		if err != nil {
			return fmt.Errorf("telegram topic of ticket %d in chat %d: %w", ticketID, chatID, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return got, nil
}

// topicConflict turns the violation of a topic's uniqueness in its chat into ECONFLICT: the
// thread was recorded for another ticket.
func topicConflict(err error) error {
	if resultCode(err) == sqlitelib.SQLITE_CONSTRAINT_UNIQUE {
		return core.WithCause(core.Errorf(core.ECONFLICT, "This Telegram topic belongs to another ticket; nothing was saved."), err)
	}
	return err
}

// SetTelegramTopicClosed records whether the ticket's topic thread is closed; nothing
// changes when the ticket's topic is no longer thread.
func (db *DB) SetTelegramTopicClosed(ctx context.Context, chatID, ticketID, thread int64, closed bool) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if _, err := w.q.ExecContext(w.ctx, `UPDATE telegram_topics SET closed = ? WHERE chat_id = ? AND ticket_id = ? AND thread_id = ?`,
			closed, chatID, ticketID, thread); err != nil {
			return fmt.Errorf("mark telegram topic %d of ticket %d closed=%t: %w", thread, ticketID, closed, err)
		}
		return nil
	})
}

// ForgetTelegramTopic removes the record of the ticket's topic when it is still thread.
func (db *DB) ForgetTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if _, err := w.q.ExecContext(w.ctx, `DELETE FROM telegram_topics WHERE chat_id = ? AND ticket_id = ? AND thread_id = ?`,
			chatID, ticketID, thread); err != nil {
			return fmt.Errorf("forget telegram topic %d of ticket %d: %w", thread, ticketID, err)
		}
		return nil
	})
}

// TelegramTopicTicket returns the ticket whose topic thread is in chat (0: none).
func (db *DB) TelegramTopicTicket(ctx context.Context, chatID, thread int64) (int64, error) {
	return db.numberOr0(ctx, fmt.Sprintf("ticket of telegram topic %d in chat %d", thread, chatID),
		`SELECT ticket_id FROM telegram_topics WHERE chat_id = ? AND thread_id = ?`, chatID, thread)
}
