package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// This file reads the core records: accounts, users, properties, tickets, messages,
// attachments and ticket history.

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
	var c, u *time.Time
	err = t.tx.QueryRow(t.ctx, `SELECT name, created_at, updated_at FROM `+table+` WHERE id = $1`, id).Scan(&name, &c, &u)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, time.Time{}, notFound(what, id)
	} else if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("%s %d: %w", strings.ToLower(what), id, err)
	}
	return name, fromTS(c), fromTS(u), nil
}

// userColumns are a user's columns for users u, memberships included, so that a lookup
// (one per authenticated request) is one round trip.
const userColumns = `u.id, u.email, u.name, u.role, COALESCE(u.default_account_id, 0), COALESCE(u.telegram_id, 0),
	u.language, u.created_at, u.updated_at,
	ARRAY(SELECT m.account_id FROM memberships m WHERE m.user_id = u.id ORDER BY m.account_id)`

// scanUser reads the user of row (userColumns); what and key name the lookup in the
// not-found error.
func scanUser(row pgx.Row, what string, key any) (*core.User, error) {
	var u core.User
	var role string
	var c, up *time.Time
	var accounts []int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.DefaultAccountID, &u.TelegramID, &u.Language, &c, &up, &accounts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(what, key)
	} else if err != nil {
		return nil, fmt.Errorf("user %v: %w", key, err)
	}
	u.Role, u.CreatedAt, u.UpdatedAt = core.Role(role), fromTS(c), fromTS(up)
	// Like SQLite's: nil, not an empty list, for a user of no account.
	if len(accounts) > 0 {
		u.AccountIDs = accounts
	}
	return &u, nil
}

func (t *readTx) User(_ context.Context, id int64) (*core.User, error) {
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id), "User", id)
}

// UserByEmail matches case-insensitively, through the unique index on lower(email).
func (t *readTx) UserByEmail(_ context.Context, email string) (*core.User, error) {
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.email) = lower($1)`,
		strings.TrimSpace(email)), "User", email)
}

func (t *readTx) UserByTelegramID(_ context.Context, telegramID int64) (*core.User, error) {
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+` FROM users u WHERE u.telegram_id = $1`, telegramID),
		"Telegram user", telegramID)
}

func (t *readTx) UserByAPIKeyHash(_ context.Context, hash string) (*core.User, error) {
	// The key is a secret: the error names no part of it.
	return scanUser(t.tx.QueryRow(t.ctx, `SELECT `+userColumns+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = $1`, hash), "API key", "")
}

func (t *readTx) Property(_ context.Context, id int64) (*core.Property, error) {
	p := core.Property{ID: id}
	var c, u *time.Time
	err := t.tx.QueryRow(t.ctx, `SELECT account_id, name, created_at, updated_at FROM properties WHERE id = $1`, id).
		Scan(&p.AccountID, &p.Name, &c, &u)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Property", id)
	} else if err != nil {
		return nil, fmt.Errorf("property %d: %w", id, err)
	}
	p.CreatedAt, p.UpdatedAt = fromTS(c), fromTS(u)
	return &p, nil
}

func (t *readTx) Properties(_ context.Context, accountID int64) ([]core.Property, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id, name, created_at, updated_at FROM properties
		WHERE account_id = $1 ORDER BY name, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("properties of account %d: %w", accountID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Property, error) {
		p := core.Property{AccountID: accountID}
		var c, u *time.Time
		err := row.Scan(&p.ID, &p.Name, &c, &u)
		p.CreatedAt, p.UpdatedAt = fromTS(c), fromTS(u)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("properties of account %d: %w", accountID, err)
	}
	return nonNil(list), nil
}

// ticketColumns are a ticket's columns for tickets t left-joined with properties p, in
// scanTicket's order.
const ticketColumns = `t.id, t.account_id, t.user_id, t.subject, t.description, t.topic, t.status,
	COALESCE(t.property_id, 0), COALESCE(p.name, ''), t.channel, COALESCE(t.follow_up_of, 0),
	t.message_count, t.public_message_count, t.created_at, t.updated_at`

// scanTicket scans ticketColumns, then extra.
func scanTicket(s scanner, extra ...any) (core.Ticket, error) {
	var tk core.Ticket
	var topic, status int
	var ch string
	var c, u *time.Time
	err := s.Scan(append([]any{&tk.ID, &tk.AccountID, &tk.UserID, &tk.Subject, &tk.Description, &topic, &status,
		&tk.PropertyID, &tk.PropertyName, &ch, &tk.FollowUpOf, &tk.MessageCount, &tk.PublicMessageCount, &c, &u}, extra...)...)
	tk.Topic, tk.Status, tk.Channel = core.Topic(topic), core.Status(status), core.Channel(ch)
	tk.CreatedAt, tk.UpdatedAt = fromTS(c), fromTS(u)
	return tk, err
}

func (t *readTx) Ticket(_ context.Context, id int64) (*core.Ticket, error) {
	tk, err := scanTicket(t.tx.QueryRow(t.ctx, `SELECT `+ticketColumns+`
		FROM tickets t LEFT JOIN properties p ON p.id = t.property_id WHERE t.id = $1`+t.forUpdate("t"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Ticket", id)
	} else if err != nil {
		return nil, fmt.Errorf("ticket %d: %w", id, err)
	}
	return &tk, nil
}

func (t *readTx) Tickets(_ context.Context, f core.TicketFilter) ([]core.Ticket, int, error) {
	args := []any{f.AccountID, f.Archived}
	where := []string{"t.account_id = $1", "t.archived = $2"}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != nil {
		add("t.status = $%d", int(*f.Status))
	}
	if f.Topic != nil {
		add("t.topic = $%d", int(*f.Topic))
	}
	if f.PropertyID != nil {
		if *f.PropertyID == 0 {
			where = append(where, "t.property_id IS NULL")
		} else {
			add("t.property_id = $%d", *f.PropertyID)
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM tickets t WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tickets: %w", err)
	}
	list := []core.Ticket{}
	if total == 0 || f.Page.Offset() >= total {
		return list, total, nil
	}
	n := len(args)
	rows, err := t.tx.Query(t.ctx, `SELECT `+ticketColumns+`
		FROM tickets t LEFT JOIN properties p ON p.id = t.property_id
		WHERE `+cond+fmt.Sprintf(` ORDER BY t.id DESC LIMIT $%d OFFSET $%d`, n+1, n+2),
		append(args, f.Page.Size, f.Page.Offset())...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", err)
	}
	list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Ticket, error) { return scanTicket(row) })
	if err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", err)
	}
	return nonNil(list), total, nil
}

const messageColumns = `id, ticket_id, COALESCE(author_user_id, 0), author, channel, body, COALESCE(full_body, ''),
	unverified, internal, hidden, created_at`

func scanMessage(s scanner) (core.Message, error) {
	var m core.Message
	var author, ch string
	var c *time.Time
	err := s.Scan(&m.ID, &m.TicketID, &m.AuthorUserID, &author, &ch, &m.Body, &m.FullBody, &m.Unverified, &m.Internal, &m.Hidden, &c)
	m.Author, m.Channel, m.CreatedAt = core.Author(author), core.Channel(ch), fromTS(c)
	return m, err
}

// Message reads the message alone, without its attachments.
func (t *readTx) Message(_ context.Context, id int64) (*core.Message, error) {
	m, err := scanMessage(t.tx.QueryRow(t.ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`+t.forUpdate("messages"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Message", id)
	} else if err != nil {
		return nil, fmt.Errorf("message %d: %w", id, err)
	}
	return &m, nil
}

func (t *readTx) Messages(_ context.Context, ticketID int64, withInternal bool) ([]core.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE ticket_id = $1`
	if !withInternal {
		q += ` AND NOT internal AND NOT hidden`
	}
	rows, err := t.tx.Query(t.ctx, q+` ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("messages of ticket %d: %w", ticketID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Message, error) {
		m, err := scanMessage(row)
		m.Attachments = []core.Attachment{}
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("messages of ticket %d: %w", ticketID, err)
	}
	list = nonNil(list)
	if len(list) == 0 {
		return list, nil
	}
	index := make(map[int64]int, len(list))
	for i, m := range list {
		index[m.ID] = i
	}
	// One query for the whole ticket's attachments; those of messages not listed (internal
	// or hidden ones) are dropped here.
	rows, err = t.tx.Query(t.ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("attachments of ticket %d: %w", ticketID, err)
	}
	atts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Attachment, error) { return scanAttachment(row) })
	if err != nil {
		return nil, fmt.Errorf("attachments of ticket %d: %w", ticketID, err)
	}
	for _, a := range atts {
		if i, ok := index[a.MessageID]; ok {
			list[i].Attachments = append(list[i].Attachments, a)
		}
	}
	return list, nil
}

const attachmentColumns = `id, ticket_id, message_id, file_name, content_type, size, hash, created_at`

func scanAttachment(s scanner) (core.Attachment, error) {
	var a core.Attachment
	var c *time.Time
	err := s.Scan(&a.ID, &a.TicketID, &a.MessageID, &a.FileName, &a.ContentType, &a.Size, &a.Hash, &c)
	a.CreatedAt = fromTS(c)
	return a, err
}

func (t *readTx) Attachment(_ context.Context, id int64) (*core.Attachment, error) {
	a, err := scanAttachment(t.tx.QueryRow(t.ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Attachment", id)
	} else if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", id, err)
	}
	return &a, nil
}

func (t *readTx) TicketEvents(_ context.Context, ticketID int64) ([]core.TicketEvent, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT id, at, COALESCE(actor_user_id, 0), kind, COALESCE(from_status, 0),
		COALESCE(to_status, 0), detail FROM ticket_events WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("history of ticket %d: %w", ticketID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.TicketEvent, error) {
		e := core.TicketEvent{TicketID: ticketID}
		var at *time.Time
		var kind string
		var from, to int
		err := row.Scan(&e.ID, &at, &e.ActorUserID, &kind, &from, &to, &e.Detail)
		e.At, e.Kind, e.From, e.To = fromTS(at), core.EventKind(kind), core.Status(from), core.Status(to)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("history of ticket %d: %w", ticketID, err)
	}
	return nonNil(list), nil
}

// nonNil is list, or an empty list for nil: the ports answer "none" with an empty list.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
