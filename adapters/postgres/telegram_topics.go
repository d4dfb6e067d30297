package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The forum topics of tickets in the staff chat (the Telegram gateway's TopicStore). Any
// node may post a ticket first, so two may make a topic for it at once: the first record
// wins and the other node is told its thread.

// TelegramTopic returns the topic of a ticket in chat: its thread (0: none) and whether it
// was closed.
func (db *DB) TelegramTopic(ctx context.Context, chatID, ticketID int64) (int64, bool, error) {
	var thread int64
	var closed bool
	err := db.pool.QueryRow(ctx, `SELECT thread_id, closed FROM telegram_topics WHERE chat_id = $1 AND ticket_id = $2`,
		chatID, ticketID).Scan(&thread, &closed)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, translate(fmt.Errorf("telegram topic of ticket %d in chat %d: %w", ticketID, chatID, err))
	}
	return thread, closed, nil
}

// AddTelegramTopic records a new, open topic of a ticket and returns its thread; when the
// ticket has a topic in chat already it changes nothing and returns that one's thread.
// Returns ECONFLICT if thread is another ticket's topic in chat.
func (db *DB) AddTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) (int64, error) {
	// READ COMMITTED: an insert that meets a concurrent one for the ticket waits for it
	// and does nothing, and the read that follows sees the row it committed (under
	// SERIALIZABLE the loser would fail and run again only to read the same row).
	var got int64
	err := db.committed(ctx, func(tx pgx.Tx) error {
		// The winner's row may be forgotten between the insert and the read: then the
		// insert is tried again, a bounded number of times.
		for range topicAddAttempts {
			err := tx.QueryRow(ctx, `INSERT INTO telegram_topics (chat_id, ticket_id, thread_id, closed, created_at)
				VALUES ($1, $2, $3, false, $4) ON CONFLICT (chat_id, ticket_id) DO NOTHING RETURNING thread_id`,
				chatID, ticketID, thread, ts(time.Now())).Scan(&got)
			if err == nil {
				return nil
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("add telegram topic %d of ticket %d in chat %d: %w", thread, ticketID, chatID, topicConflict(err))
			}
			err = tx.QueryRow(ctx, `SELECT thread_id FROM telegram_topics WHERE chat_id = $1 AND ticket_id = $2`,
				chatID, ticketID).Scan(&got)
			if err == nil {
				return nil
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("telegram topic of ticket %d in chat %d: %w", ticketID, chatID, err)
			}
		}
		return fmt.Errorf("add telegram topic %d of ticket %d in chat %d: the ticket's topic kept changing", thread, ticketID, chatID)
	})
	if err != nil {
		return 0, err
	}
	return got, nil
}

// topicAddAttempts bounds the inserts AddTelegramTopic tries while other nodes add and
// forget the ticket's topic.
const topicAddAttempts = 3

// topicConflict turns the violation of a topic's uniqueness in its chat into ECONFLICT: the
// thread was recorded for another ticket.
func topicConflict(err error) error {
	if isUnique(err) {
		return core.WithCause(core.Errorf(core.ECONFLICT, "This Telegram topic belongs to another ticket; nothing was saved."), err)
	}
	return err
}

// SetTelegramTopicClosed records whether the ticket's topic thread is closed; nothing
// changes when the ticket's topic is no longer thread.
func (db *DB) SetTelegramTopicClosed(ctx context.Context, chatID, ticketID, thread int64, closed bool) error {
	return db.exec(ctx, fmt.Sprintf("mark telegram topic %d of ticket %d closed=%t", thread, ticketID, closed),
		`UPDATE telegram_topics SET closed = $1 WHERE chat_id = $2 AND ticket_id = $3 AND thread_id = $4`,
		closed, chatID, ticketID, thread)
}

// ForgetTelegramTopic removes the record of the ticket's topic when it is still thread.
func (db *DB) ForgetTelegramTopic(ctx context.Context, chatID, ticketID, thread int64) error {
	return db.exec(ctx, fmt.Sprintf("forget telegram topic %d of ticket %d", thread, ticketID),
		`DELETE FROM telegram_topics WHERE chat_id = $1 AND ticket_id = $2 AND thread_id = $3`,
		chatID, ticketID, thread)
}

// TelegramTopicTicket returns the ticket whose topic thread is in chat (0: none).
func (db *DB) TelegramTopicTicket(ctx context.Context, chatID, thread int64) (int64, error) {
	return db.numberOr0(ctx, fmt.Sprintf("ticket of telegram topic %d in chat %d", thread, chatID),
		`SELECT ticket_id FROM telegram_topics WHERE chat_id = $1 AND thread_id = $2`, chatID, thread)
}
