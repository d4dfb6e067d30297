package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// What the Telegram gateway needs besides core's records: link codes (core's port), the
// update offset, finished updates, dialogues, and the map of bot messages to tickets. Only
// the node holding the Telegram poller's lease polls, but any node may send and link.

func (t *writeTx) CreateTelegramLinkCode(_ context.Context, c *core.TelegramLinkCode) error {
	// Expired codes go here too, not only when one is taken: a take that fails (a wrong or
	// expired code) is undone, cleanup included, so codes nobody uses would pile up.
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM telegram_link_codes WHERE expires_at <= $1`, bound(c.CreatedAt)); err != nil {
		return fmt.Errorf("delete expired telegram link codes: %w", err)
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO telegram_link_codes (hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		c.Hash, c.UserID, ts(c.ExpiresAt), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store telegram link code for user %d: %w", c.UserID, err)
	}
	return nil
}

func (t *writeTx) TakeTelegramLinkCode(_ context.Context, hash string, now time.Time) (int64, error) {
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM telegram_link_codes WHERE expires_at <= $1`, bound(now)); err != nil {
		return 0, fmt.Errorf("delete expired telegram link codes: %w", err)
	}
	var userID int64
	err := t.tx.QueryRow(t.ctx, `DELETE FROM telegram_link_codes WHERE hash = $1 RETURNING user_id`, hash).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("Link code", "")
	} else if err != nil {
		return 0, fmt.Errorf("take telegram link code: %w", err)
	}
	return userID, nil
}

func (t *writeTx) SetTelegramID(_ context.Context, userID, telegramID int64) error {
	// users.telegram_id is unique and checked per statement: the other holder lets go first.
	if telegramID != 0 {
		if _, err := t.tx.Exec(t.ctx, `UPDATE users SET telegram_id = NULL WHERE telegram_id = $1 AND id <> $2`, telegramID, userID); err != nil {
			return fmt.Errorf("unlink telegram user from others: %w", err)
		}
	}
	tag, err := t.tx.Exec(t.ctx, `UPDATE users SET telegram_id = $1 WHERE id = $2`, nullID(telegramID), userID)
	if err != nil {
		return fmt.Errorf("set telegram id of user %d: %w", userID, err)
	}
	if tag.RowsAffected() == 0 {
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
	err := db.pool.QueryRow(ctx, q, args...).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, translate(fmt.Errorf("%s: %w", what, err))
	}
	return n, nil
}

// TelegramUpdateDone reports whether an update was finished before.
func (db *DB) TelegramUpdateDone(ctx context.Context, updateID int64) (bool, error) {
	var done bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM telegram_updates WHERE update_id = $1)`, updateID).Scan(&done)
	if err != nil {
		return false, translate(fmt.Errorf("telegram update %d: %w", updateID, err))
	}
	return done, nil
}

// FinishTelegramUpdate records an update as done, moves the offset past it (never back),
// and, when dialogueUser is not 0, replaces that user's dialogue with dialogue ("" ends
// it) — all in one transaction. Records older than keep are pruned on the way.
func (db *DB) FinishTelegramUpdate(ctx context.Context, updateID, dialogueUser int64, dialogue string, keep time.Duration) error {
	now := time.Now()
	return db.serial(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO telegram_updates (update_id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			updateID, ts(now)); err != nil {
			return fmt.Errorf("record telegram update %d: %w", updateID, err)
		}
		if keep > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM telegram_updates WHERE at < $1`, ts(now.Add(-keep))); err != nil {
				return fmt.Errorf("prune telegram updates: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO telegram_offset (id, next_update, updated_at) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET next_update = GREATEST(telegram_offset.next_update, excluded.next_update),
			updated_at = excluded.updated_at`, updateID+1, ts(now)); err != nil {
			return fmt.Errorf("store telegram offset: %w", err)
		}
		if dialogueUser == 0 {
			return nil
		}
		if dialogue == "" {
			if _, err := tx.Exec(ctx, `DELETE FROM telegram_dialogues WHERE telegram_user_id = $1`, dialogueUser); err != nil {
				return fmt.Errorf("end telegram dialogue of %d: %w", dialogueUser, err)
			}
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO telegram_dialogues (telegram_user_id, state, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (telegram_user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			dialogueUser, dialogue, ts(now)); err != nil {
			return fmt.Errorf("store telegram dialogue of %d: %w", dialogueUser, err)
		}
		return nil
	})
}

// TelegramDialogue returns a Telegram user's dialogue in progress ("" if none).
func (db *DB) TelegramDialogue(ctx context.Context, telegramUserID int64) (string, error) {
	var state string
	err := db.pool.QueryRow(ctx, `SELECT state FROM telegram_dialogues WHERE telegram_user_id = $1`, telegramUserID).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", translate(fmt.Errorf("telegram dialogue of %d: %w", telegramUserID, err))
	}
	return state, nil
}

// RememberTelegramMessage records that a bot message belongs to a ticket.
func (db *DB) RememberTelegramMessage(ctx context.Context, chatID, messageID, ticketID int64) error {
	return db.exec(ctx, fmt.Sprintf("remember telegram message %d/%d", chatID, messageID),
		`INSERT INTO telegram_messages (chat_id, message_id, ticket_id, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (chat_id, message_id) DO UPDATE SET ticket_id = excluded.ticket_id`,
		chatID, messageID, ticketID, ts(time.Now()))
}

// TelegramMessageTicket returns the ticket a bot message belongs to (0 if none).
func (db *DB) TelegramMessageTicket(ctx context.Context, chatID, messageID int64) (int64, error) {
	return db.numberOr0(ctx, fmt.Sprintf("ticket of telegram message %d/%d", chatID, messageID),
		`SELECT ticket_id FROM telegram_messages WHERE chat_id = $1 AND message_id = $2`, chatID, messageID)
}
