package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// GDPR: what a data export reads beyond the ports of every day, the erasure of a user and
// the retention's purges. docs/privacy.md says what each keeps and removes.

var (
	_ core.GDPRReadTx   = (*readTx)(nil)
	_ core.GDPRTx       = (*writeTx)(nil)
	_ core.FileScrubber = (*DB)(nil)
	_ core.BlobRemover  = (*Blobs)(nil)
)

func (t *readTx) ids(what, q string, args ...any) ([]int64, error) {
	rows, err := t.q.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	list := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		list = append(list, id)
	}
	return list, rows.Err()
}

func (t *readTx) UserTicketIDs(_ context.Context, userID int64) ([]int64, error) {
	return t.ids("tickets of user", `SELECT id FROM tickets WHERE user_id = ? ORDER BY id`, userID)
}

func (t *readTx) AuthoredTicketIDs(_ context.Context, userID int64) ([]int64, error) {
	return t.ids("tickets written on by user", `SELECT DISTINCT ticket_id FROM messages WHERE author_user_id = ? ORDER BY ticket_id`, userID)
}

func (t *readTx) UserNotifications(_ context.Context, userID int64, address string) ([]core.Notification, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, event, channel, COALESCE(user_id, 0), recipient, COALESCE(ticket_id, 0),
		COALESCE(message_id, 0), COALESCE(new_status, 0), detail, state, attempts, created_at, COALESCE(sent_at, 0)
		FROM notifications WHERE user_id = ? OR (recipient = ? AND recipient != '') ORDER BY id`, userID, strings.ToLower(address))
	if err != nil {
		return nil, fmt.Errorf("notifications of user %d: %w", userID, err)
	}
	defer rows.Close()
	list := []core.Notification{}
	for rows.Next() {
		var n core.Notification
		var kind, ch, state string
		var c, s int64
		if err := rows.Scan(&n.ID, &kind, &ch, &n.UserID, &n.Recipient, &n.TicketID, &n.MessageID, &n.NewStatus,
			&n.Detail, &state, &n.Attempts, &c, &s); err != nil {
			return nil, err
		}
		n.Kind, n.Channel, n.State, n.CreatedAt = core.NotificationKind(kind), core.Channel(ch), core.NotificationState(state), fromDB(c)
		if s != 0 {
			n.SentAt = fromDB(s)
		}
		list = append(list, n)
	}
	return list, rows.Err()
}

// userInbound selects a user's inbound records: sent from their address, or applied as one
// of their messages.
const userInbound = `(lower(sender) = ? AND sender != '')
	OR message_id IN (SELECT id FROM messages WHERE author_user_id = ?)`

func (t *readTx) UserInbound(_ context.Context, userID int64, address string) ([]core.InboundRecord, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT channel, key, result, COALESCE(ticket_id, 0), COALESCE(message_id, 0), raw_hash,
		sender, subject, reason, at FROM inbound_messages WHERE `+userInbound+` ORDER BY at, channel, key`,
		strings.ToLower(address), userID)
	if err != nil {
		return nil, fmt.Errorf("inbound records of user %d: %w", userID, err)
	}
	defer rows.Close()
	list := []core.InboundRecord{}
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

// scrub rewrites the text columns cols of the rows sel selects (rowid first, then cols)
// with fn, writing back only the rows it changed.
func (t *writeTx) scrub(table string, cols []string, fn func(string) string, where string, args ...any) error {
	rows, err := t.q.QueryContext(t.ctx, `SELECT rowid, `+coalesced(cols)+` FROM `+table+` WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("scrub %s: %w", table, err)
	}
	type change struct {
		id   int64
		vals []any
	}
	var changes []change
	for rows.Next() {
		var id int64
		vals := make([]string, len(cols))
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		c := change{id: id}
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
		return err
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		// A NULL stays NULL (messages.full_body): fn("") is "".
		set[i] = c + ` = CASE WHEN ` + c + ` IS NULL THEN NULL ELSE ? END`
	}
	for _, c := range changes {
		if _, err := t.q.ExecContext(t.ctx, `UPDATE `+table+` SET `+strings.Join(set, ", ")+` WHERE rowid = ?`, append(c.vals, c.id)...); err != nil {
			return fmt.Errorf("scrub %s: %w", table, err)
		}
	}
	return nil
}

func coalesced(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = `COALESCE(` + c + `, '')`
	}
	return strings.Join(out, ", ")
}

func (t *writeTx) EraseUser(ctx context.Context, e core.Erasure) ([]string, error) {
	if _, err := t.User(ctx, e.UserID); err != nil {
		return nil, err
	}
	email := strings.ToLower(e.Email)
	// The writer's connection zeroes what is deleted (secure_delete, see Open).
	var hashes []string
	collect := func(q string, args ...any) error {
		rows, err := t.q.QueryContext(t.ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			if h != "" {
				hashes = append(hashes, h)
			}
		}
		return rows.Err()
	}
	if err := collect(`SELECT DISTINCT hash FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE author_user_id = ?)`, e.UserID); err != nil {
		return nil, fmt.Errorf("erase user %d: attachments: %w", e.UserID, err)
	}
	if err := collect(`SELECT DISTINCT raw_hash FROM inbound_messages WHERE `+userInbound, email, e.UserID); err != nil {
		return nil, fmt.Errorf("erase user %d: raw mails: %w", e.UserID, err)
	}
	// Texts first, while the rows that find them still name the user.
	mine := `ticket_id IN (SELECT id FROM tickets WHERE user_id = ?) OR author_user_id = ?`
	steps := []struct {
		table string
		cols  []string
		where string
		args  []any
	}{
		{"tickets", []string{"subject", "description"}, `user_id = ?`, []any{e.UserID}},
		{"messages", []string{"body", "full_body"}, mine, []any{e.UserID, e.UserID}},
		{"message_revisions", []string{"body"}, `message_id IN (SELECT id FROM messages WHERE ` + mine + `)`, []any{e.UserID, e.UserID}},
		{"ticket_events", []string{"detail"}, `ticket_id IN (SELECT id FROM tickets WHERE user_id = ?)`, []any{e.UserID}},
		{"notifications", []string{"detail", "last_error"}, `user_id = ? OR recipient = ?`, []any{e.UserID, email}},
		{"inbound_messages", []string{"reason"}, userInbound, []any{email, e.UserID}},
		{"changes", []string{"detail"}, `lower(detail) LIKE ?`, []any{"%" + email + "%"}},
	}
	for _, s := range steps {
		if err := t.scrub(s.table, s.cols, e.Scrub, s.where, s.args...); err != nil {
			return nil, fmt.Errorf("erase user %d: %w", e.UserID, err)
		}
	}
	tg := nullInt(e.TelegramID)
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE inbound_messages SET sender = '', subject = '', raw_hash = '' WHERE ` + userInbound, []any{email, e.UserID}},
		// A pending notification to them is never sent now; the sent ones keep no address.
		{`UPDATE notifications SET state = CASE WHEN state = 'pending' THEN 'canceled' ELSE state END,
			last_error = CASE WHEN state = 'pending' THEN 'recipient erased' ELSE last_error END,
			recipient = '' WHERE user_id = ? OR recipient = ?`, []any{e.UserID, email}},
		{`DELETE FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE author_user_id = ?)`, []any{e.UserID}},
		{`DELETE FROM api_keys WHERE user_id = ?`, []any{e.UserID}},
		{`DELETE FROM telegram_link_codes WHERE user_id = ?`, []any{e.UserID}},
		{`DELETE FROM telegram_dialogues WHERE telegram_user_id = ?`, []any{tg}},
		{`DELETE FROM telegram_messages WHERE chat_id = ?`, []any{tg}},
		{`DELETE FROM idempotency_keys WHERE owner_id = ?`, []any{e.UserID}},
		{`UPDATE users SET email = ?, name = ?, telegram_id = NULL, language = '', updated_at = ? WHERE id = ?`,
			[]any{e.Placeholder, e.Name, toDB(e.At), e.UserID}},
		// Rewritten search rows leave their old words in the index's segments until a merge:
		// merge them all now (erasures are rare; this costs a pass over the index).
		{`INSERT INTO ticket_search (ticket_search) VALUES ('optimize')`, nil},
	}
	for _, s := range stmts {
		if _, err := t.q.ExecContext(t.ctx, s.q, s.args...); err != nil {
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
	rows, err := t.q.QueryContext(t.ctx, `SELECT rowid, body FROM idempotency_keys WHERE body IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("scrub idempotency answers: %w", err)
	}
	type change struct {
		id   int64
		body []byte
	}
	var changes []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.body); err != nil {
			rows.Close()
			return err
		}
		if s := fn(string(c.body)); s != string(c.body) {
			changes = append(changes, change{c.id, []byte(s)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		if _, err := t.q.ExecContext(t.ctx, `UPDATE idempotency_keys SET body = ? WHERE rowid = ?`, c.body, c.id); err != nil {
			return fmt.Errorf("scrub idempotency answers: %w", err)
		}
	}
	return nil
}

func (t *writeTx) PurgeRawMails(_ context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT rowid, raw_hash FROM inbound_messages WHERE raw_hash != '' AND at < ? ORDER BY at LIMIT ?`,
		toDB(before), limit)
	if err != nil {
		return nil, fmt.Errorf("purge raw mails: %w", err)
	}
	var ids []int64
	var hashes []string
	for rows.Next() {
		var id int64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			rows.Close()
			return nil, err
		}
		ids, hashes = append(ids, id), append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := t.q.ExecContext(t.ctx, `UPDATE inbound_messages SET raw_hash = '' WHERE rowid = ?`, id); err != nil {
			return nil, fmt.Errorf("purge raw mails: %w", err)
		}
	}
	return hashes, nil
}

func (t *writeTx) PurgeRejected(_ context.Context, before time.Time, limit int) (int, []string, error) {
	rows, err := t.q.QueryContext(t.ctx, `DELETE FROM inbound_messages WHERE rowid IN (SELECT rowid FROM inbound_messages
		WHERE result = ? AND at < ? ORDER BY at LIMIT ?) RETURNING raw_hash`, string(core.InboundRejected), toDB(before), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("purge rejected mail: %w", err)
	}
	defer rows.Close()
	n, hashes := 0, []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return 0, nil, err
		}
		n++
		if h != "" {
			hashes = append(hashes, h)
		}
	}
	return n, hashes, rows.Err()
}

// ScrubFiles copies the WAL into the database file and truncates it, so that neither keeps
// the pages an erasure rewrote (secure_delete zeroed what it deleted in the new ones). A
// reader holding an old snapshot keeps the WAL from being truncated; it is tried a few
// times, then reported.
func (db *DB) ScrubFiles(ctx context.Context) error {
	for i := 0; i < scrubTries; i++ {
		if _, done := db.checkpoint(ctx, "TRUNCATE"); done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(scrubWait):
		}
	}
	return fmt.Errorf("scrub database files: the WAL stayed busy; the next checkpoint will truncate it")
}

const (
	scrubTries = 20
	scrubWait  = 50 * time.Millisecond
)

// Remove deletes hash's file now unless a committed row references it, without the grace
// Discard and the sweep give an upload in flight (see core.BlobRemover).
func (b *Blobs) Remove(ctx context.Context, hash string) error {
	if !validHash(hash) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.recent, hash)
	_, _, err := b.removeUnreferenced(ctx, hash)
	return err
}
