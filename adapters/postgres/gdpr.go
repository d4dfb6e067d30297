package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// GDPR: what a data export reads beyond the ports of every day, the erasure of a user and
// the retention's purges, as the SQLite store does them (adapters/sqlite/gdpr.go).

var (
	_ core.GDPRReadTx  = (*readTx)(nil)
	_ core.GDPRTx      = (*writeTx)(nil)
	_ core.BlobRemover = (*Blobs)(nil)
)

func (t *readTx) ids(what, q string, args ...any) ([]int64, error) {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return nonNil(list), nil
}

func (t *readTx) UserTicketIDs(_ context.Context, userID int64) ([]int64, error) {
	return t.ids("tickets of user", `SELECT id FROM tickets WHERE user_id = $1 ORDER BY id`, userID)
}

func (t *readTx) AuthoredTicketIDs(_ context.Context, userID int64) ([]int64, error) {
	return t.ids("tickets written on by user", `SELECT DISTINCT ticket_id FROM messages WHERE author_user_id = $1 ORDER BY ticket_id`, userID)
}

func (t *readTx) UserNotifications(_ context.Context, userID int64, address string) ([]core.Notification, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id, event, channel, COALESCE(user_id, 0), recipient, COALESCE(ticket_id, 0),
		COALESCE(message_id, 0), COALESCE(new_status, 0), detail, state, attempts, created_at, sent_at
		FROM notifications WHERE user_id = $1 OR (recipient = $2 AND recipient != '') ORDER BY id`, userID, strings.ToLower(address))
	if err != nil {
		return nil, fmt.Errorf("notifications of user %d: %w", userID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Notification, error) {
		var n core.Notification
		var kind, ch, state string
		var status int
		var c, s *time.Time
		err := row.Scan(&n.ID, &kind, &ch, &n.UserID, &n.Recipient, &n.TicketID, &n.MessageID, &status,
			&n.Detail, &state, &n.Attempts, &c, &s)
		n.Kind, n.Channel, n.State, n.NewStatus = core.NotificationKind(kind), core.Channel(ch), core.NotificationState(state), core.Status(status)
		n.CreatedAt, n.SentAt = fromTS(c), fromTS(s)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("notifications of user %d: %w", userID, err)
	}
	return nonNil(list), nil
}

// userInbound selects a user's inbound records ($1 their address, $2 their ID): sent from
// their address, or applied as one of their messages.
const userInbound = `((lower(sender) = $1 AND sender != '')
	OR message_id IN (SELECT id FROM messages WHERE author_user_id = $2))`

func (t *readTx) UserInbound(_ context.Context, userID int64, address string) ([]core.InboundRecord, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT channel, key, result, COALESCE(ticket_id, 0), COALESCE(message_id, 0), raw_hash,
		sender, subject, reason, at FROM inbound_messages WHERE `+userInbound+` ORDER BY at, channel, key`,
		strings.ToLower(address), userID)
	if err != nil {
		return nil, fmt.Errorf("inbound records of user %d: %w", userID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.InboundRecord, error) {
		var r core.InboundRecord
		var ch, result string
		var at *time.Time
		err := row.Scan(&ch, &r.Key, &result, &r.TicketID, &r.MessageID, &r.RawHash, &r.Sender, &r.Subject, &r.Reason, &at)
		r.Channel, r.Result, r.At = core.Channel(ch), core.InboundResult(result), fromTS(at)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbound records of user %d: %w", userID, err)
	}
	return nonNil(list), nil
}

// scrub rewrites the text columns cols of the rows where selects with fn, writing back only
// the rows it changed. The rows are locked as they are read, so their ctid holds until the
// update.
func (t *writeTx) scrub(table string, cols []string, fn func(string) string, where string, args ...any) error {
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = `COALESCE(` + c + `, '')`
	}
	rows, err := t.tx.Query(t.ctx, `SELECT ctid::text, `+strings.Join(sel, ", ")+` FROM `+table+` WHERE `+where+` FOR UPDATE`, args...)
	if err != nil {
		return fmt.Errorf("scrub %s: %w", table, err)
	}
	type change struct {
		tid  string
		vals []any
	}
	var changes []change
	for rows.Next() {
		var tid string
		vals := make([]string, len(cols))
		dest := []any{&tid}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		c := change{tid: tid}
		dirty := false
		for _, v := range vals {
			s := fn(v)
			dirty = dirty || s != v
			c.vals = append(c.vals, s)
		}
		if dirty {
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scrub %s: %w", table, err)
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		// A NULL stays NULL (messages.full_body): fn("") is "".
		set[i] = c + ` = CASE WHEN ` + c + ` IS NULL THEN NULL ELSE $` + strconv.Itoa(i+1) + ` END`
	}
	for _, c := range changes {
		q := `UPDATE ` + table + ` SET ` + strings.Join(set, ", ") + ` WHERE ctid = $` + strconv.Itoa(len(cols)+1) + `::tid`
		if _, err := t.tx.Exec(t.ctx, q, append(c.vals, c.tid)...); err != nil {
			return fmt.Errorf("scrub %s: %w", table, err)
		}
	}
	return nil
}

func (t *writeTx) EraseUser(ctx context.Context, e core.Erasure) ([]string, error) {
	if _, err := t.User(ctx, e.UserID); err != nil {
		return nil, err
	}
	email := strings.ToLower(e.Email)
	var hashes []string
	collect := func(q string, args ...any) error {
		rows, err := t.tx.Query(t.ctx, q, args...)
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, h := range list {
			if h != "" {
				hashes = append(hashes, h)
			}
		}
		return err
	}
	if err := collect(`SELECT DISTINCT hash FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE author_user_id = $1)`, e.UserID); err != nil {
		return nil, fmt.Errorf("erase user %d: attachments: %w", e.UserID, err)
	}
	if err := collect(`SELECT DISTINCT raw_hash FROM inbound_messages WHERE `+userInbound, email, e.UserID); err != nil {
		return nil, fmt.Errorf("erase user %d: raw mails: %w", e.UserID, err)
	}
	// Texts first, while the rows that find them still name the user.
	mine := `(ticket_id IN (SELECT id FROM tickets WHERE user_id = $1) OR author_user_id = $1)`
	steps := []struct {
		table string
		cols  []string
		where string
		args  []any
	}{
		{"tickets", []string{"subject", "description"}, `user_id = $1`, []any{e.UserID}},
		{"messages", []string{"body", "full_body"}, mine, []any{e.UserID}},
		{"message_revisions", []string{"body"}, `message_id IN (SELECT id FROM messages WHERE ` + mine + `)`, []any{e.UserID}},
		{"ticket_events", []string{"detail"}, `ticket_id IN (SELECT id FROM tickets WHERE user_id = $1)`, []any{e.UserID}},
		{"notifications", []string{"detail", "last_error"}, `user_id = $1 OR recipient = $2`, []any{e.UserID, email}},
		{"inbound_messages", []string{"reason"}, userInbound, []any{email, e.UserID}},
		{"changes", []string{"detail"}, `strpos(lower(detail), $1) > 0`, []any{email}},
	}
	for _, s := range steps {
		if err := t.scrub(s.table, s.cols, e.Scrub, s.where, s.args...); err != nil {
			return nil, fmt.Errorf("erase user %d: %w", e.UserID, err)
		}
	}
	tg := nullID(e.TelegramID)
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE inbound_messages SET sender = '', subject = '', raw_hash = '' WHERE ` + userInbound, []any{email, e.UserID}},
		// A pending notification to them is never sent now; the sent ones keep no address.
		{`UPDATE notifications SET state = CASE WHEN state = 'pending' THEN 'canceled' ELSE state END,
			last_error = CASE WHEN state = 'pending' THEN 'recipient erased' ELSE last_error END,
			recipient = '' WHERE user_id = $1 OR recipient = $2`, []any{e.UserID, email}},
		{`DELETE FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE author_user_id = $1)`, []any{e.UserID}},
		{`DELETE FROM api_keys WHERE user_id = $1`, []any{e.UserID}},
		{`DELETE FROM telegram_link_codes WHERE user_id = $1`, []any{e.UserID}},
		{`DELETE FROM telegram_dialogues WHERE telegram_user_id = $1`, []any{tg}},
		{`DELETE FROM telegram_messages WHERE chat_id = $1`, []any{tg}},
		{`DELETE FROM idempotency_keys WHERE owner_id = $1`, []any{e.UserID}},
		{`UPDATE users SET email = $1, name = $2, telegram_id = NULL, language = '', updated_at = $3 WHERE id = $4`,
			[]any{e.Placeholder, e.Name, ts(e.At), e.UserID}},
	}
	for _, s := range stmts {
		if _, err := t.tx.Exec(t.ctx, s.q, s.args...); err != nil {
			return nil, fmt.Errorf("erase user %d: %w", e.UserID, err)
		}
	}
	if err := t.scrubAnswers(e.Scrub); err != nil {
		return nil, fmt.Errorf("erase user %d: %w", e.UserID, err)
	}
	return hashes, nil
}

// scrubAnswers rewrites the answers kept for Idempotency-Key replays (other users' requests,
// such as a staff reply naming the user) without the user's name and address, so that a
// replay does not bring them back. The table holds a day of keys: it is read whole.
func (t *writeTx) scrubAnswers(fn func(string) string) error {
	rows, err := t.tx.Query(t.ctx, `SELECT owner_id, key, body FROM idempotency_keys WHERE body IS NOT NULL FOR UPDATE`)
	if err != nil {
		return fmt.Errorf("scrub idempotency answers: %w", err)
	}
	type change struct {
		owner int64
		key   string
		body  []byte
	}
	var changes []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.owner, &c.key, &c.body); err != nil {
			rows.Close()
			return err
		}
		if s := fn(string(c.body)); s != string(c.body) {
			c.body = []byte(s)
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scrub idempotency answers: %w", err)
	}
	for _, c := range changes {
		if _, err := t.tx.Exec(t.ctx, `UPDATE idempotency_keys SET body = $1 WHERE owner_id = $2 AND key = $3`, c.body, c.owner, c.key); err != nil {
			return fmt.Errorf("scrub idempotency answers: %w", err)
		}
	}
	return nil
}

func (t *writeTx) PurgeRawMails(_ context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := t.tx.Query(t.ctx, `UPDATE inbound_messages i SET raw_hash = '' FROM (
			SELECT channel, key, raw_hash FROM inbound_messages WHERE raw_hash != '' AND at < $1
			ORDER BY at LIMIT $2 FOR UPDATE) old
		WHERE i.channel = old.channel AND i.key = old.key RETURNING old.raw_hash`, ts(before), limit)
	if err != nil {
		return nil, fmt.Errorf("purge raw mails: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("purge raw mails: %w", err)
	}
	return nonNil(list), nil
}

func (t *writeTx) PurgeRejected(_ context.Context, before time.Time, limit int) (int, []string, error) {
	rows, err := t.tx.Query(t.ctx, `DELETE FROM inbound_messages WHERE (channel, key) IN (SELECT channel, key FROM inbound_messages
		WHERE result = $1 AND at < $2 ORDER BY at LIMIT $3 FOR UPDATE) RETURNING raw_hash`, string(core.InboundRejected), ts(before), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("purge rejected mail: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, nil, fmt.Errorf("purge rejected mail: %w", err)
	}
	hashes := []string{}
	for _, h := range list {
		if h != "" {
			hashes = append(hashes, h)
		}
	}
	return len(list), hashes, nil
}

// Remove deletes hash's bytes now unless a committed row references them, without the
// grace Discard and the sweep give an upload in flight (see core.BlobRemover), under the
// hash's lock as every change of a blob row.
func (b *Blobs) Remove(ctx context.Context, hash string) error {
	err := b.locked(ctx, hash, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM blobs WHERE hash = $1 AND NOT (`+blobReferenced+`)`, hash)
		return err
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("remove blob %s: %w", hash, err)
	}
	return nil
}
