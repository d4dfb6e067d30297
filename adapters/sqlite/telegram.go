package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file keeps what the Telegram gateway needs besides core's records: link codes
// (core's port), the update offset, finished updates, dialogues, and the map of bot
// messages to tickets.

func (t *writeTx) CreateTelegramLinkCode(_ context.Context, c *core.TelegramLinkCode) error {
	// Expired codes go here too, not only when one is taken: a take that fails (a wrong or
	// expired code) is undone, cleanup included, so codes nobody uses would pile up.
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM telegram_link_codes WHERE expires_at <= ?`, toDB(c.CreatedAt)); err != nil {
		return fmt.Errorf("delete expired telegram link codes: %w", err)
	}
	_, err := t.q.ExecContext(t.ctx, `INSERT INTO telegram_link_codes (hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		c.Hash, c.UserID, toDB(c.ExpiresAt), toDB(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store telegram link code for user %d: %w", c.UserID, err)
	}
	return nil
}

func (t *writeTx) TakeTelegramLinkCode(_ context.Context, hash string, now time.Time) (int64, error) {
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM telegram_link_codes WHERE expires_at <= ?`, toDB(now)); err != nil {
		return 0, fmt.Errorf("delete expired telegram link codes: %w", err)
	}
	var userID int64
	err := t.q.QueryRowContext(t.ctx, `DELETE FROM telegram_link_codes WHERE hash = ? RETURNING user_id`, hash).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("Link code", "")
	} else if err != nil {
		return 0, fmt.Errorf("take telegram link code: %w", err)
	}
	return userID, nil
}

func (t *writeTx) SetTelegramID(_ context.Context, userID, telegramID int64) error {
	if telegramID != 0 {
		if _, err := t.q.ExecContext(t.ctx, `UPDATE users SET telegram_id = NULL WHERE telegram_id = ? AND id <> ?`, telegramID, userID); err != nil {
			return fmt.Errorf("unlink telegram user from others: %w", err)
		}
	}
	res, err := t.q.ExecContext(t.ctx, `UPDATE users SET telegram_id = ? WHERE id = ?`, nullInt(telegramID), userID)
	if err != nil {
		return fmt.Errorf("set telegram id of user %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("User", userID)
	}
	return nil
}

// TelegramOffset returns the next update ID to ask getUpdates for (0 before the first).
func (db *DB) TelegramOffset(ctx context.Context) (int64, error) {
	return db.numberOr0(ctx, "telegram offset", `SELECT next_update FROM telegram_offset WHERE id = 1`)
}

// numberOr0 reads the one number q selects, 0 when it selects no row.
func (db *DB) numberOr0(ctx context.Context, what, q string, args ...any) (int64, error) {
	var n int64
	err := db.rdb.QueryRowContext(ctx, q, args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// TelegramUpdateDone reports whether an update was finished before.
func (db *DB) TelegramUpdateDone(ctx context.Context, updateID int64) (bool, error) {
	var n int
	err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM telegram_updates WHERE update_id = ?`, updateID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("telegram update %d: %w", updateID, err)
	}
	return n > 0, nil
}

// FinishTelegramUpdate records an update as done, moves the offset past it (never back),
// and, when dialogueUser is not 0, replaces that user's dialogue with dialogue ("" ends
// it) — all in one transaction. Records older than keep are pruned on the way.
func (db *DB) FinishTelegramUpdate(ctx context.Context, updateID, dialogueUser int64, dialogue string, keep time.Duration) error {
	now := time.Now()
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		if _, err := w.q.ExecContext(w.ctx, `INSERT INTO telegram_updates (update_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			updateID, toDB(now)); err != nil {
			return fmt.Errorf("record telegram update %d: %w", updateID, err)
		}
		if keep > 0 {
			if _, err := w.q.ExecContext(w.ctx, `DELETE FROM telegram_updates WHERE at < ?`, toDB(now.Add(-keep))); err != nil {
				return fmt.Errorf("prune telegram updates: %w", err)
			}
		}
		if _, err := w.q.ExecContext(w.ctx, `INSERT INTO telegram_offset (id, next_update, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET next_update = max(next_update, excluded.next_update), updated_at = excluded.updated_at`,
			updateID+1, toDB(now)); err != nil {
			return fmt.Errorf("store telegram offset: %w", err)
		}
		if dialogueUser == 0 {
			return nil
		}
		if dialogue == "" {
			_, err := w.q.ExecContext(w.ctx, `DELETE FROM telegram_dialogues WHERE telegram_user_id = ?`, dialogueUser)
			return err
		}
		_, err := w.q.ExecContext(w.ctx, `INSERT INTO telegram_dialogues (telegram_user_id, state, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (telegram_user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			dialogueUser, dialogue, toDB(now))
		return err
	})
}

// TelegramDialogue returns a Telegram user's dialogue in progress ("" if none).
func (db *DB) TelegramDialogue(ctx context.Context, telegramUserID int64) (string, error) {
	var state string
	err := db.rdb.QueryRowContext(ctx, `SELECT state FROM telegram_dialogues WHERE telegram_user_id = ?`, telegramUserID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("telegram dialogue of %d: %w", telegramUserID, err)
	}
	return state, nil
}

// RememberTelegramMessage records that a bot message belongs to a ticket.
func (db *DB) RememberTelegramMessage(ctx context.Context, chatID, messageID, ticketID int64) error {
	return db.Write(ctx, func(tx core.Tx) error {
		w := tx.(*writeTx)
		_, err := w.q.ExecContext(w.ctx, `INSERT INTO telegram_messages (chat_id, message_id, ticket_id, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (chat_id, message_id) DO UPDATE SET ticket_id = excluded.ticket_id`,
			chatID, messageID, ticketID, toDB(time.Now()))
		if err != nil {
			return fmt.Errorf("remember telegram message %d/%d: %w", chatID, messageID, err)
		}
		return nil
	})
}

// TelegramMessageTicket returns the ticket a bot message belongs to (0 if none).
func (db *DB) TelegramMessageTicket(ctx context.Context, chatID, messageID int64) (int64, error) {
	return db.numberOr0(ctx, fmt.Sprintf("ticket of telegram message %d/%d", chatID, messageID),
		`SELECT ticket_id FROM telegram_messages WHERE chat_id = ? AND message_id = ?`, chatID, messageID)
}
