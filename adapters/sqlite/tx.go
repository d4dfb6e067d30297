package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

var (
	_ core.ReadTx = (*readTx)(nil)
	_ core.Tx     = (*writeTx)(nil)
)

// querier is what a read or write transaction offers.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTx implements core.ReadTx. Its methods use the transaction's own context: the
// writer's must not be interrupted by a caller's (see DB.commit).
type readTx struct {
	ctx context.Context
	q   querier
}

type writeTx struct {
	readTx
	// queued is set when the transaction queues a notification: the commit then wakes
	// the dispatcher.
	queued *bool
	// hooks, shared by the batch, knows which change types a webhook takes (changes.go).
	hooks *hookTypes
	// fresh are the tickets this write created, counted already as holding one public
	// message, with their updated_at: the first message a ticket is created with then needs
	// no UPDATE of the new row (finish recounts those that did not get one).
	fresh map[int64]int64
	// held are the raw mails to write with the inbound records that name them.
	held *heldRaws
}

// finish ends one write's part of a batch: tickets created without the public first
// message they were counted with get their true counts.
func (t *writeTx) finish() error {
	for id := range t.fresh {
		if err := t.recount(id); err != nil {
			return err
		}
	}
	return nil
}

func notFound(what string, id any) error {
	return core.Errorf(core.ENOTFOUND, "%s %v not found.", what, id)
}

func nullInt(v int64) sql.NullInt64      { return sql.NullInt64{Int64: v, Valid: v != 0} }
func nullString(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }

func (t *readTx) Account(_ context.Context, id int64) (*core.Account, error) {
	a := core.Account{ID: id}
	var err error
	a.Name, a.CreatedAt, a.UpdatedAt, err = t.named("accounts", "Account", id)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// named reads a record that is a name and its times (an account, a department) by ID.
func (t *readTx) named(table, what string, id int64) (name string, created, updated time.Time, err error) {
	var c, u int64
	err = t.q.QueryRowContext(t.ctx, `SELECT name, created_at, updated_at FROM `+table+` WHERE id = ?`, id).Scan(&name, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, time.Time{}, notFound(what, id)
	} else if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("%s %d: %w", strings.ToLower(what), id, err)
	}
	return name, fromDB(c), fromDB(u), nil
}

const userColumns = `u.id, u.email, u.name, u.role, COALESCE(u.default_account_id, 0), COALESCE(u.telegram_id, 0), u.language, u.created_at, u.updated_at`

func (t *readTx) scanUser(row *sql.Row, what string, key any) (*core.User, error) {
	var u core.User
	var role string
	var c, up int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.DefaultAccountID, &u.TelegramID, &u.Language, &c, &up)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(what, key)
	} else if err != nil {
		return nil, fmt.Errorf("user %v: %w", key, err)
	}
	u.Role, u.CreatedAt, u.UpdatedAt = core.Role(role), fromDB(c), fromDB(up)
	rows, err := t.q.QueryContext(t.ctx, `SELECT account_id FROM memberships WHERE user_id = ? ORDER BY account_id`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("memberships of user %d: %w", u.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		u.AccountIDs = append(u.AccountIDs, id)
	}
	return &u, rows.Err()
}

func (t *readTx) User(_ context.Context, id int64) (*core.User, error) {
	return t.scanUser(t.q.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id), "User", id)
}

func (t *readTx) UserByEmail(_ context.Context, email string) (*core.User, error) {
	return t.scanUser(t.q.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users u WHERE u.email = ?`, strings.TrimSpace(email)), "User", email)
}

func (t *readTx) UserByTelegramID(_ context.Context, telegramID int64) (*core.User, error) {
	return t.scanUser(t.q.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users u WHERE u.telegram_id = ?`, telegramID), "Telegram user", telegramID)
}

func (t *readTx) UserByAPIKeyHash(_ context.Context, hash string) (*core.User, error) {
	return t.scanUser(t.q.QueryRowContext(t.ctx, `SELECT `+userColumns+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ?`, hash), "API key", "")
}

func (t *readTx) Property(_ context.Context, id int64) (*core.Property, error) {
	p := core.Property{ID: id}
	var c, u int64
	err := t.q.QueryRowContext(t.ctx, `SELECT account_id, name, created_at, updated_at FROM properties WHERE id = ?`, id).
		Scan(&p.AccountID, &p.Name, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Property", id)
	} else if err != nil {
		return nil, fmt.Errorf("property %d: %w", id, err)
	}
	p.CreatedAt, p.UpdatedAt = fromDB(c), fromDB(u)
	return &p, nil
}

func (t *readTx) Properties(_ context.Context, accountID int64) ([]core.Property, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, name, created_at, updated_at FROM properties WHERE account_id = ? ORDER BY name, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("properties of account %d: %w", accountID, err)
	}
	defer rows.Close()
	list := []core.Property{}
	for rows.Next() {
		p := core.Property{AccountID: accountID}
		var c, u int64
		if err := rows.Scan(&p.ID, &p.Name, &c, &u); err != nil {
			return nil, err
		}
		p.CreatedAt, p.UpdatedAt = fromDB(c), fromDB(u)
		list = append(list, p)
	}
	return list, rows.Err()
}

const ticketColumns = `t.id, t.account_id, t.user_id, t.subject, t.description, t.topic, t.status,
	COALESCE(t.property_id, 0), COALESCE(p.name, ''), t.channel, COALESCE(t.follow_up_of, 0),
	t.message_count, t.public_message_count, t.created_at, t.updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanTicket(s scanner) (core.Ticket, error) {
	var tk core.Ticket
	var ch string
	var c, u int64
	err := s.Scan(&tk.ID, &tk.AccountID, &tk.UserID, &tk.Subject, &tk.Description, &tk.Topic, &tk.Status,
		&tk.PropertyID, &tk.PropertyName, &ch, &tk.FollowUpOf, &tk.MessageCount, &tk.PublicMessageCount, &c, &u)
	tk.Channel, tk.CreatedAt, tk.UpdatedAt = core.Channel(ch), fromDB(c), fromDB(u)
	return tk, err
}

func (t *readTx) Ticket(_ context.Context, id int64) (*core.Ticket, error) {
	tk, err := scanTicket(t.q.QueryRowContext(t.ctx, `SELECT `+ticketColumns+`
		FROM tickets t LEFT JOIN properties p ON p.id = t.property_id WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Ticket", id)
	} else if err != nil {
		return nil, fmt.Errorf("ticket %d: %w", id, err)
	}
	return &tk, nil
}

func (t *readTx) Tickets(_ context.Context, f core.TicketFilter) ([]core.Ticket, int, error) {
	where := []string{"t.account_id = ?", "t.archived = ?"}
	args := []any{f.AccountID, f.Archived}
	if f.Status != nil {
		where, args = append(where, "t.status = ?"), append(args, int(*f.Status))
	}
	if f.Topic != nil {
		where, args = append(where, "t.topic = ?"), append(args, int(*f.Topic))
	}
	if f.PropertyID != nil {
		if *f.PropertyID == 0 {
			where = append(where, "t.property_id IS NULL")
		} else {
			where, args = append(where, "t.property_id = ?"), append(args, *f.PropertyID)
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := t.q.QueryRowContext(t.ctx, `SELECT count(*) FROM tickets t WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tickets: %w", err)
	}
	list := []core.Ticket{}
	if total == 0 || f.Page.Offset() >= total {
		return list, total, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+ticketColumns+`
		FROM tickets t LEFT JOIN properties p ON p.id = t.property_id
		WHERE `+cond+` ORDER BY t.id DESC LIMIT ? OFFSET ?`, append(args, f.Page.Size, f.Page.Offset())...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			return nil, 0, err
		}
		list = append(list, tk)
	}
	return list, total, rows.Err()
}

const messageColumns = `id, ticket_id, COALESCE(author_user_id, 0), author, channel, body, COALESCE(full_body, ''), unverified, internal, hidden, created_at`

func scanMessage(s scanner) (core.Message, error) {
	var m core.Message
	var author, ch string
	var c int64
	err := s.Scan(&m.ID, &m.TicketID, &m.AuthorUserID, &author, &ch, &m.Body, &m.FullBody, &m.Unverified, &m.Internal, &m.Hidden, &c)
	m.Author, m.Channel, m.CreatedAt = core.Author(author), core.Channel(ch), fromDB(c)
	return m, err
}

func (t *readTx) Message(_ context.Context, id int64) (*core.Message, error) {
	m, err := scanMessage(t.q.QueryRowContext(t.ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Message", id)
	} else if err != nil {
		return nil, fmt.Errorf("message %d: %w", id, err)
	}
	return &m, nil
}

func (t *readTx) Messages(_ context.Context, ticketID int64, withInternal bool) ([]core.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE ticket_id = ?`
	if !withInternal {
		q += ` AND internal = 0 AND hidden = 0`
	}
	rows, err := t.q.QueryContext(t.ctx, q+` ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("messages of ticket %d: %w", ticketID, err)
	}
	list := []core.Message{}
	index := map[int64]int{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		m.Attachments = []core.Attachment{}
		index[m.ID] = len(list)
		list = append(list, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.q.QueryContext(t.ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("attachments of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, err
		}
		if i, ok := index[a.MessageID]; ok {
			list[i].Attachments = append(list[i].Attachments, a)
		}
	}
	return list, rows.Err()
}

const attachmentColumns = `id, ticket_id, message_id, file_name, content_type, size, hash, created_at`

func scanAttachment(s scanner) (core.Attachment, error) {
	var a core.Attachment
	var c int64
	err := s.Scan(&a.ID, &a.TicketID, &a.MessageID, &a.FileName, &a.ContentType, &a.Size, &a.Hash, &c)
	a.CreatedAt = fromDB(c)
	return a, err
}

func (t *readTx) Attachment(_ context.Context, id int64) (*core.Attachment, error) {
	a, err := scanAttachment(t.q.QueryRowContext(t.ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Attachment", id)
	} else if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", id, err)
	}
	return &a, nil
}

func (t *readTx) TicketEvents(_ context.Context, ticketID int64) ([]core.TicketEvent, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, at, COALESCE(actor_user_id, 0), kind, COALESCE(from_status, 0),
		COALESCE(to_status, 0), detail FROM ticket_events WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("history of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	list := []core.TicketEvent{}
	for rows.Next() {
		e := core.TicketEvent{TicketID: ticketID}
		var at int64
		var kind string
		if err := rows.Scan(&e.ID, &at, &e.ActorUserID, &kind, &e.From, &e.To, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.Kind = fromDB(at), core.EventKind(kind)
		list = append(list, e)
	}
	return list, rows.Err()
}

func (t *writeTx) PutAccount(_ context.Context, a *core.Account) error {
	err := t.q.QueryRowContext(t.ctx, `INSERT INTO accounts (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
		RETURNING created_at`, a.ID, a.Name, toDB(a.CreatedAt), toDB(a.UpdatedAt)).Scan(new(int64))
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

func (t *writeTx) PutUser(_ context.Context, u *core.User) error {
	var other int64
	err := t.q.QueryRowContext(t.ctx, `SELECT id FROM users WHERE email = ? AND id <> ?`, u.Email, u.ID).Scan(&other)
	if err == nil {
		return &core.Error{Code: core.ECONFLICT, Message: "Another user already has this email address.",
			Fields: []core.FieldError{{Field: "email", Message: "already used by another user"}}}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check email: %w", err)
	}
	_, err = t.q.ExecContext(t.ctx, `INSERT INTO users (id, email, name, role, default_account_id, language, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role,
			default_account_id = excluded.default_account_id, language = excluded.language, updated_at = excluded.updated_at`,
		u.ID, u.Email, u.Name, string(u.Role), nullInt(u.DefaultAccountID), u.Language, toDB(u.CreatedAt), toDB(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put user %d: %w", u.ID, err)
	}
	if _, err := t.q.ExecContext(t.ctx, `DELETE FROM memberships WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("clear memberships of user %d: %w", u.ID, err)
	}
	for _, a := range u.AccountIDs {
		if _, err := t.q.ExecContext(t.ctx, `INSERT INTO memberships (user_id, account_id) VALUES (?, ?)`, u.ID, a); err != nil {
			if isForeignKey(err) {
				return notFound("Account", a)
			}
			return fmt.Errorf("add membership %d/%d: %w", u.ID, a, err)
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
	_, err := t.q.ExecContext(t.ctx, `INSERT INTO properties (id, account_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name, updated_at = excluded.updated_at`,
		p.ID, p.AccountID, p.Name, toDB(p.CreatedAt), toDB(p.UpdatedAt))
	if err != nil {
		if isForeignKey(err) {
			return notFound("Account", p.AccountID)
		}
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
	err := t.q.QueryRowContext(t.ctx, `INSERT INTO api_keys (user_id, hash, prefix, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		k.UserID, k.Hash, k.Prefix, toDB(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		return fmt.Errorf("create api key for user %d: %w", k.UserID, err)
	}
	return nil
}

func (t *writeTx) DeleteAPIKey(_ context.Context, userID, keyID int64) error {
	res, err := t.q.ExecContext(t.ctx, `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, keyID, userID)
	if err != nil {
		return fmt.Errorf("delete api key %d: %w", keyID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("API key", keyID)
	}
	return nil
}

// insert runs an INSERT and returns the new row's id. Not RETURNING: SQLite gathers a
// RETURNING statement's rows in a temporary table, dearer than asking the connection.
func (t *writeTx) insert(q string, args ...any) (int64, error) {
	res, err := t.q.ExecContext(t.ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (t *writeTx) CreateTicket(_ context.Context, tk *core.Ticket) error {
	// Counted with the public first message it is created with (writeTx.fresh): the UPDATE
	// of the counts would run a second statement over the new row.
	var err error
	tk.ID, err = t.insert(`INSERT INTO tickets (account_id, user_id, subject, description, topic, status,
		property_id, channel, follow_up_of, created_at, updated_at, message_count, public_message_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)`,
		tk.AccountID, tk.UserID, tk.Subject, tk.Description, int(tk.Topic), int(tk.Status), nullInt(tk.PropertyID),
		string(tk.Channel), nullInt(tk.FollowUpOf), toDB(tk.CreatedAt), toDB(tk.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create ticket: %w", err)
	}
	if t.fresh == nil {
		t.fresh = map[int64]int64{}
	}
	t.fresh[tk.ID] = toDB(tk.UpdatedAt)
	return nil
}

func (t *writeTx) CreateMessage(_ context.Context, m *core.Message) error {
	var err error
	m.ID, err = t.insert(`INSERT INTO messages (ticket_id, author_user_id, author, channel, body, full_body, unverified, internal, hidden, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.TicketID, nullInt(m.AuthorUserID), string(m.Author), string(m.Channel), m.Body, nullString(m.FullBody), m.Unverified, m.Internal, m.Hidden, toDB(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("create message on ticket %d: %w", m.TicketID, err)
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		a.TicketID, a.MessageID = m.TicketID, m.ID
		if a.CreatedAt.IsZero() {
			a.CreatedAt = m.CreatedAt
		}
		var err error
		a.ID, err = t.insert(`INSERT INTO attachments (ticket_id, message_id, file_name, content_type, size, hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.TicketID, a.MessageID, a.FileName, a.ContentType, a.Size, a.Hash, toDB(a.CreatedAt))
		if err != nil {
			return fmt.Errorf("create attachment on message %d: %w", m.ID, err)
		}
	}
	public := 0
	if m.VisibleToCustomer() {
		public = 1
	}
	at := toDB(m.CreatedAt)
	if upd, ok := t.fresh[m.TicketID]; ok && public == 1 && at <= upd {
		// The public first message of a ticket created in this write, counted already.
		delete(t.fresh, m.TicketID)
		return nil
	}
	// updated_at is set only when it moves: setting it to the value it has (a new ticket's
	// first message) still rewrites its entries in the two indexes on updated_at.
	res, err := t.q.ExecContext(t.ctx, `UPDATE tickets SET message_count = message_count + 1,
		public_message_count = public_message_count + ?, updated_at = ? WHERE id = ? AND updated_at < ?`,
		public, at, m.TicketID, at)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = t.q.ExecContext(t.ctx, `UPDATE tickets SET message_count = message_count + 1,
				public_message_count = public_message_count + ? WHERE id = ?`, public, m.TicketID)
		}
	}
	if err != nil {
		return fmt.Errorf("count message on ticket %d: %w", m.TicketID, err)
	}
	return nil
}

func (t *writeTx) SetTicketStatus(_ context.Context, ticketID int64, s core.Status, at time.Time) error {
	res, err := t.q.ExecContext(t.ctx, `UPDATE tickets SET status = ?, updated_at = max(updated_at, ?) WHERE id = ?`, int(s), toDB(at), ticketID)
	if err != nil {
		return fmt.Errorf("set status of ticket %d: %w", ticketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Ticket", ticketID)
	}
	return nil
}

func (t *writeTx) AddTicketEvent(_ context.Context, e *core.TicketEvent) error {
	var from, to sql.NullInt64
	if e.Kind == core.KindStatus {
		from = sql.NullInt64{Int64: int64(e.From), Valid: true}
	}
	if e.Kind == core.KindStatus || e.Kind == core.KindCreated {
		to = sql.NullInt64{Int64: int64(e.To), Valid: true}
	}
	var err error
	e.ID, err = t.insert(`INSERT INTO ticket_events (ticket_id, at, actor_user_id, kind, from_status, to_status, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.TicketID, toDB(e.At), nullInt(e.ActorUserID), string(e.Kind), from, to, e.Detail)
	if err != nil {
		return fmt.Errorf("add event to ticket %d: %w", e.TicketID, err)
	}
	return nil
}

func (t *writeTx) AddNotification(_ context.Context, n *core.Notification) error {
	var status sql.NullInt64
	if n.HasNewStatus() {
		status = sql.NullInt64{Int64: int64(n.NewStatus), Valid: true}
	}
	var err error
	n.ID, err = t.insert(`INSERT INTO notifications (event, channel, user_id, recipient, ticket_id, message_id,
		new_status, detail, in_reply_to, state, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		string(n.Kind), string(n.Channel), nullInt(n.UserID), n.Recipient, nullInt(n.TicketID), nullInt(n.MessageID),
		status, n.Detail, n.InReplyTo, string(n.State), toDB(n.NextAttemptAt), toDB(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("queue %s notification for ticket %d: %w", n.Kind, n.TicketID, err)
	}
	if t.queued != nil {
		*t.queued = true
	}
	return nil
}

func (t *writeTx) RecordInbound(_ context.Context, r *core.InboundRecord) error {
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO inbound_messages (channel, key, result, ticket_id, message_id, raw_hash,
		sender, subject, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, key) DO NOTHING`,
		string(r.Channel), r.Key, r.Result, nullInt(r.TicketID), nullInt(r.MessageID), r.RawHash,
		r.Sender, r.Subject, r.Reason, toDB(r.At))
	if err != nil {
		return fmt.Errorf("record inbound %s message: %w", r.Channel, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ECONFLICT, "Inbound %s message %q was processed before.", r.Channel, r.Key)
	}
	return t.keepHeld(r.RawHash)
}
