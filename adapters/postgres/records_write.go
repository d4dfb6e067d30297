package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file writes the core records. A failed statement aborts a Postgres transaction, so
// where a use case may go on after an error (a taken email, a message seen before) the
// write asks first or uses ON CONFLICT instead of letting the statement fail.

func (t *writeTx) PutAccount(_ context.Context, a *core.Account) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO accounts (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
		a.ID, a.Name, ts(a.CreatedAt), ts(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put account %d: %w", a.ID, err)
	}
	stored, err := t.Account(t.ctx, a.ID)
	if err != nil {
		return err
	}
	*a = *stored
	return nil
}

// errEmailTaken is PutUser's answer for an address another user has.
func errEmailTaken() error {
	return &core.Error{Code: core.ECONFLICT, Message: "Another user already has this email address.",
		Fields: []core.FieldError{{Field: "email", Message: "already used by another user"}}}
}

func (t *writeTx) PutUser(_ context.Context, u *core.User) error {
	var other int64
	err := t.tx.QueryRow(t.ctx, `SELECT id FROM users WHERE lower(email) = lower($1) AND id <> $2`, u.Email, u.ID).Scan(&other)
	if err == nil {
		return errEmailTaken()
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("check email: %w", err)
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO users (id, email, name, role, default_account_id, language, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role,
			default_account_id = excluded.default_account_id, language = excluded.language, updated_at = excluded.updated_at`,
		u.ID, u.Email, u.Name, string(u.Role), nullID(u.DefaultAccountID), u.Language, ts(u.CreatedAt), ts(u.UpdatedAt))
	if isUnique(err) {
		// The id is the conflict target, so this is the email index: a concurrent write
		// took the address after the check above.
		return errEmailTaken()
	} else if err != nil {
		return fmt.Errorf("put user %d: %w", u.ID, err)
	}
	if _, err := t.tx.Exec(t.ctx, `DELETE FROM memberships WHERE user_id = $1`, u.ID); err != nil {
		return fmt.Errorf("clear memberships of user %d: %w", u.ID, err)
	}
	if len(u.AccountIDs) > 0 {
		// Name the first missing account, as SQLite's one insert at a time does.
		var missing int64
		err := t.tx.QueryRow(t.ctx, `SELECT x.id FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, n)
			WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = x.id) ORDER BY x.n LIMIT 1`, u.AccountIDs).Scan(&missing)
		if err == nil {
			return notFound("Account", missing)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check accounts of user %d: %w", u.ID, err)
		}
		_, err = t.tx.Exec(t.ctx, `INSERT INTO memberships (user_id, account_id) SELECT $1, unnest($2::bigint[])`, u.ID, u.AccountIDs)
		if err != nil {
			return fmt.Errorf("add memberships of user %d: %w", u.ID, err)
		}
	}
	stored, err := t.User(t.ctx, u.ID)
	if err != nil {
		return err
	}
	*u = *stored
	return nil
}

func (t *writeTx) PutProperty(_ context.Context, p *core.Property) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO properties (id, account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name, updated_at = excluded.updated_at`,
		p.ID, p.AccountID, p.Name, ts(p.CreatedAt), ts(p.UpdatedAt))
	if sqlState(err) == codeForeignKeyViolation {
		return notFound("Account", p.AccountID)
	} else if err != nil {
		return fmt.Errorf("put property %d: %w", p.ID, err)
	}
	stored, err := t.Property(t.ctx, p.ID)
	if err != nil {
		return err
	}
	*p = *stored
	return nil
}

func (t *writeTx) CreateAPIKey(_ context.Context, k *core.APIKey) error {
	err := t.tx.QueryRow(t.ctx, `INSERT INTO api_keys (user_id, hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		k.UserID, k.Hash, k.Prefix, ts(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		return fmt.Errorf("create api key for user %d: %w", k.UserID, err)
	}
	return nil
}

func (t *writeTx) DeleteAPIKey(_ context.Context, userID, keyID int64) error {
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM api_keys WHERE id = $1 AND user_id = $2`, keyID, userID)
	if err != nil {
		return fmt.Errorf("delete api key %d: %w", keyID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("API key", keyID)
	}
	return nil
}

func (t *writeTx) CreateTicket(_ context.Context, tk *core.Ticket) error {
	// Counted with the public first message it is created with (writeTx.fresh): the UPDATE
	// of the counts would write the new row and its ten index entries a second time.
	err := t.tx.QueryRow(t.ctx, `INSERT INTO tickets (account_id, user_id, subject, description, topic, status,
		property_id, channel, follow_up_of, created_at, updated_at, message_count, public_message_count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, 1) RETURNING id`,
		tk.AccountID, tk.UserID, tk.Subject, tk.Description, int(tk.Topic), int(tk.Status), nullID(tk.PropertyID),
		string(tk.Channel), nullID(tk.FollowUpOf), ts(tk.CreatedAt), ts(tk.UpdatedAt)).Scan(&tk.ID)
	if err != nil {
		return fmt.Errorf("create ticket: %w", err)
	}
	if t.fresh == nil {
		t.fresh = map[int64]time.Time{}
	}
	t.fresh[tk.ID] = tk.UpdatedAt
	return nil
}

// insertMessage stores a message ($1–$10: messageArgs) and returns its ID.
const insertMessage = `INSERT INTO messages (ticket_id, author_user_id, author, channel, body, full_body,
	unverified, internal, hidden, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`

func messageArgs(m *core.Message) []any {
	return []any{m.TicketID, nullID(m.AuthorUserID), string(m.Author), string(m.Channel), m.Body, nullText(m.FullBody),
		m.Unverified, m.Internal, m.Hidden, ts(m.CreatedAt)}
}

func (t *writeTx) CreateMessage(_ context.Context, m *core.Message) error {
	public := 0
	if m.VisibleToCustomer() {
		public = 1
	}
	if at, ok := t.fresh[m.TicketID]; ok && public == 1 && !m.CreatedAt.After(at) {
		// The public first message of a ticket created in this transaction, counted already.
		delete(t.fresh, m.TicketID)
		if err := t.tx.QueryRow(t.ctx, insertMessage, messageArgs(m)...).Scan(&m.ID); err != nil {
			return fmt.Errorf("create message on ticket %d: %w", m.TicketID, err)
		}
		return t.createAttachments(m)
	}
	// The message and its ticket's counters in one statement, one round trip. GREATEST: a
	// change stamped before the ticket's last one (a slow writer) must not move updated_at
	// back; it also ignores a NULL (zero) time.
	err := t.tx.QueryRow(t.ctx, `WITH m AS (`+insertMessage+`), counted AS (
			UPDATE tickets SET message_count = message_count + 1, public_message_count = public_message_count + $11,
				updated_at = GREATEST(updated_at, $10) WHERE id = $1
		) SELECT id FROM m`, append(messageArgs(m), public)...).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("create message on ticket %d: %w", m.TicketID, err)
	}
	return t.createAttachments(m)
}

// createAttachments stores a new message's attachments and sets their IDs.
func (t *writeTx) createAttachments(m *core.Message) error {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		a.TicketID, a.MessageID = m.TicketID, m.ID
		if a.CreatedAt.IsZero() {
			a.CreatedAt = m.CreatedAt
		}
		err := t.tx.QueryRow(t.ctx, `INSERT INTO attachments (ticket_id, message_id, file_name, content_type, size, hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			a.TicketID, a.MessageID, a.FileName, a.ContentType, a.Size, a.Hash, ts(a.CreatedAt)).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("create attachment on message %d: %w", m.ID, err)
		}
	}
	return nil
}

func (t *writeTx) SetTicketStatus(_ context.Context, ticketID int64, s core.Status, at time.Time) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE tickets SET status = $1, updated_at = GREATEST(updated_at, $2) WHERE id = $3`,
		int(s), ts(at), ticketID)
	if err != nil {
		return fmt.Errorf("set status of ticket %d: %w", ticketID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Ticket", ticketID)
	}
	return nil
}

func (t *writeTx) AddTicketEvent(_ context.Context, e *core.TicketEvent) error {
	// Only the kinds that have them keep statuses; the others read back as 0.
	var from, to *int
	if e.Kind == core.KindStatus {
		from = new(int(e.From))
	}
	if e.Kind == core.KindStatus || e.Kind == core.KindCreated {
		to = new(int(e.To))
	}
	err := t.tx.QueryRow(t.ctx, `INSERT INTO ticket_events (ticket_id, at, actor_user_id, kind, from_status, to_status, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.TicketID, ts(e.At), nullID(e.ActorUserID), string(e.Kind), from, to, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("add event to ticket %d: %w", e.TicketID, err)
	}
	return nil
}

func (t *writeTx) AddNotification(_ context.Context, n *core.Notification) error {
	var status *int
	if n.HasNewStatus() {
		status = new(int(n.NewStatus))
	}
	err := t.tx.QueryRow(t.ctx, `INSERT INTO notifications (event, channel, user_id, recipient, ticket_id, message_id,
		new_status, detail, in_reply_to, state, attempts, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12) RETURNING id`,
		string(n.Kind), string(n.Channel), nullID(n.UserID), n.Recipient, nullID(n.TicketID), nullID(n.MessageID),
		status, n.Detail, n.InReplyTo, string(n.State), ts(n.NextAttemptAt), ts(n.CreatedAt)).Scan(&n.ID)
	if err != nil {
		return fmt.Errorf("queue %s notification for ticket %d: %w", n.Kind, n.TicketID, err)
	}
	t.queued = true
	return nil
}

func (t *writeTx) RecordInbound(_ context.Context, r *core.InboundRecord) error {
	// DO NOTHING rather than a failed insert: the caller may go on in this transaction
	// after the ECONFLICT.
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO inbound_messages (channel, key, result, ticket_id, message_id, raw_hash,
		sender, subject, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (channel, key) DO NOTHING`,
		string(r.Channel), r.Key, string(r.Result), nullID(r.TicketID), nullID(r.MessageID), r.RawHash,
		r.Sender, r.Subject, r.Reason, ts(r.At))
	if err != nil {
		return fmt.Errorf("record inbound %s message: %w", r.Channel, err)
	}
	if tag.RowsAffected() == 0 {
		return core.Errorf(core.ECONFLICT, "Inbound %s message %q was processed before.", r.Channel, r.Key)
	}
	return nil
}
