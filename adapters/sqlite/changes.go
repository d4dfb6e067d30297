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

// The change log and the webhooks (core.ChangeReadTx, core.ChangeTx): each change is
// written with one delivery per subscribed webhook, in the transaction of what it records.

var (
	_ core.ChangeReadTx = (*readTx)(nil)
	_ core.ChangeTx     = (*writeTx)(nil)
)

const changeColumns = `c.id, c.type, c.at, COALESCE(c.account_id, 0), COALESCE(c.ticket_id, 0), COALESCE(c.message_id, 0),
	c.internal, COALESCE(c.from_status, 0), COALESCE(c.to_status, 0), COALESCE(c.assignee_user_id, 0),
	COALESCE(c.department_id, 0), c.detail`

func scanChange(s scanner, c *core.Change) error {
	var typ string
	var at int64
	err := s.Scan(&c.ID, &typ, &at, &c.AccountID, &c.TicketID, &c.MessageID, &c.Internal, &c.From, &c.To,
		&c.AssigneeUserID, &c.DepartmentID, &c.Detail)
	// One writer commits the changes in the order it numbers them: the ID is the feed's
	// position (a store copied to Postgres keeps it so).
	c.Type, c.At, c.Seq = core.ChangeType(typ), fromDB(at), c.ID
	return err
}

// staffOnlyTypes are the change types a public feed leaves out.
func staffOnlyTypes() []string {
	var out []string
	for _, t := range core.ChangeTypes() {
		if t.StaffOnly() {
			out = append(out, string(t))
		}
	}
	return out
}

func (t *readTx) Changes(_ context.Context, f core.ChangeFilter) ([]core.Change, error) {
	q := `SELECT ` + changeColumns + ` FROM changes c WHERE c.id > ?`
	args := []any{f.After}
	if f.AccountID != 0 {
		q, args = q+` AND c.account_id = ?`, append(args, f.AccountID)
	}
	if f.Public {
		types := staffOnlyTypes()
		q += ` AND c.internal = 0 AND c.type NOT IN (?` + strings.Repeat(", ?", len(types)-1) + `)
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id AND c.type = ?
				AND (m.internal = 1 OR m.hidden = 1))`
		for _, typ := range types {
			args = append(args, typ)
		}
		args = append(args, string(core.ChangeMessageCreated))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := t.q.QueryContext(t.ctx, q+` ORDER BY c.id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", f.After, err)
	}
	defer rows.Close()
	list := []core.Change{}
	for rows.Next() {
		var c core.Change
		if err := scanChange(rows, &c); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

const webhookColumns = `id, url, secret, created_at, disabled, disabled_reason, COALESCE(failing_since, 0)`

func scanWebhook(s scanner) (core.Webhook, error) {
	var w core.Webhook
	var created, failing int64
	err := s.Scan(&w.ID, &w.URL, &w.Secret, &created, &w.Disabled, &w.DisabledReason, &failing)
	w.CreatedAt, w.FailingSince = fromDB(created), fromDB(failing)
	return w, err
}

// webhookEvents fills in the events of the webhooks in list.
func (t *readTx) webhookEvents(list []core.Webhook) error {
	index := make(map[int64]int, len(list))
	for i := range list {
		index[list[i].ID] = i
		list[i].Events = []core.ChangeType{}
	}
	q := `SELECT webhook_id, type FROM webhook_events ORDER BY webhook_id, seq`
	var args []any
	if len(list) == 1 {
		q, args = `SELECT webhook_id, type FROM webhook_events WHERE webhook_id = ? ORDER BY seq`, []any{list[0].ID}
	}
	rows, err := t.q.QueryContext(t.ctx, q, args...)
	if err != nil {
		return fmt.Errorf("webhook events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var typ string
		if err := rows.Scan(&id, &typ); err != nil {
			return err
		}
		if i, ok := index[id]; ok {
			list[i].Events = append(list[i].Events, core.ChangeType(typ))
		}
	}
	return rows.Err()
}

func (t *readTx) Webhook(_ context.Context, id int64) (*core.Webhook, error) {
	w, err := scanWebhook(t.q.QueryRowContext(t.ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Webhook", id)
	} else if err != nil {
		return nil, fmt.Errorf("webhook %d: %w", id, err)
	}
	list := []core.Webhook{w}
	if err := t.webhookEvents(list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

func (t *readTx) Webhooks(_ context.Context) ([]core.Webhook, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	list := []core.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return list, nil
	}
	return list, t.webhookEvents(list)
}

const deliveryColumns = `d.id, d.webhook_id, d.change_id, c.type, d.state, d.attempts, d.next_attempt_at, d.last_status,
	d.last_error, d.created_at, COALESCE(d.delivered_at, 0)`

func scanDelivery(s scanner, d *core.WebhookDelivery, more ...any) error {
	var typ, state string
	var next, created, delivered int64
	err := s.Scan(append([]any{&d.ID, &d.WebhookID, &d.ChangeID, &typ, &state, &d.Attempts, &next, &d.LastStatus,
		&d.LastError, &created, &delivered}, more...)...)
	d.Type, d.State = core.ChangeType(typ), core.DeliveryState(state)
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = fromDB(next), fromDB(created), fromDB(delivered)
	return err
}

func (t *readTx) WebhookDeliveries(_ context.Context, webhookID int64, page core.Page) ([]core.WebhookDelivery, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d JOIN changes c ON c.id = d.change_id
		WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ? OFFSET ?`, webhookID, page.Size, page.Offset())
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook %d: %w", webhookID, err)
	}
	defer rows.Close()
	list := []core.WebhookDelivery{}
	for rows.Next() {
		var d core.WebhookDelivery
		if err := scanDelivery(rows, &d); err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// delivery reads one delivery of a webhook, or ENOTFOUND.
func (t *readTx) delivery(webhookID, deliveryID int64) (*core.WebhookDelivery, error) {
	var d core.WebhookDelivery
	err := scanDelivery(t.q.QueryRowContext(t.ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		JOIN changes c ON c.id = d.change_id WHERE d.id = ? AND d.webhook_id = ?`, deliveryID, webhookID), &d)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Delivery", deliveryID)
	} else if err != nil {
		return nil, fmt.Errorf("delivery %d of webhook %d: %w", deliveryID, webhookID, err)
	}
	return &d, nil
}

func (t *writeTx) AddChange(_ context.Context, c *core.Change) error {
	var from, to sql.NullInt64
	if c.Type == core.ChangeTicketStatusChanged {
		from = sql.NullInt64{Int64: int64(c.From), Valid: true}
		to = sql.NullInt64{Int64: int64(c.To), Valid: true}
	}
	var err error
	c.ID, err = t.insert(`INSERT INTO changes (type, at, account_id, ticket_id, message_id, internal, from_status, to_status,
		assignee_user_id, department_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(c.Type), toDB(c.At), nullInt(c.AccountID), nullInt(c.TicketID), nullInt(c.MessageID), c.Internal, from, to,
		nullInt(c.AssigneeUserID), nullInt(c.DepartmentID), c.Detail)
	if err != nil {
		return fmt.Errorf("add %s change: %w", c.Type, err)
	}
	if take, err := t.hooks.take(t, c.Type); err != nil || !take {
		return err
	}
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO webhook_deliveries (webhook_id, change_id, state, attempts, next_attempt_at, created_at)
		SELECT w.id, ?, 'pending', 0, ?, ? FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.id
		WHERE e.type = ? AND w.disabled = 0 ORDER BY w.id`, c.ID, toDB(c.At), toDB(c.At), string(c.Type))
	if err != nil {
		return fmt.Errorf("queue deliveries of change %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 && t.queued != nil {
		*t.queued = true // the commit wakes the deliveries
	}
	return nil
}

// hookTypes is which change types an enabled webhook subscribes to, read once per batch of
// writes: most desks have no webhook, and asking for each change cost a query per change
// (AddChange). The batch runs in one transaction holding the write lock, so nothing else
// changes the webhooks meanwhile; a write of the batch that adds a subscription or enables a
// webhook makes it read again. One that removes one leaves a type too many, which only
// costs the query.
type hookTypes struct {
	loaded bool
	types  map[core.ChangeType]bool
}

// take reports whether a webhook subscribes to changes of type ct.
func (h *hookTypes) take(t *writeTx, ct core.ChangeType) (bool, error) {
	if h == nil {
		return true, nil // a transaction outside the batch writer: ask the query
	}
	if !h.loaded {
		rows, err := t.q.QueryContext(t.ctx, `SELECT DISTINCT e.type FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
			WHERE w.disabled = 0`)
		if err != nil {
			return false, fmt.Errorf("webhook subscriptions: %w", err)
		}
		defer rows.Close()
		h.types = map[core.ChangeType]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return false, fmt.Errorf("webhook subscriptions: %w", err)
			}
			h.types[core.ChangeType(s)] = true
		}
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("webhook subscriptions: %w", err)
		}
		h.loaded = true
	}
	return h.types[ct], nil
}

// hooksChanged makes the batch read the subscriptions again.
func (t *writeTx) hooksChanged() {
	if t.hooks != nil {
		t.hooks.loaded = false
	}
}

func (t *writeTx) CreateWebhook(_ context.Context, w *core.Webhook) error {
	t.hooksChanged()
	var err error
	w.ID, err = t.insert(`INSERT INTO webhooks (url, secret, created_at, disabled, disabled_reason, failing_since)
		VALUES (?, ?, ?, ?, ?, ?)`, w.URL, w.Secret, toDB(w.CreatedAt), w.Disabled, w.DisabledReason, nullInt(toDB(w.FailingSince)))
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	for i, e := range w.Events {
		if _, err := t.q.ExecContext(t.ctx, `INSERT INTO webhook_events (webhook_id, type, seq) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, w.ID, string(e), i); err != nil {
			return fmt.Errorf("subscribe webhook %d to %s: %w", w.ID, e, err)
		}
	}
	return nil
}

func (t *writeTx) DeleteWebhook(_ context.Context, id int64) error {
	// The deliveries and subscriptions go with it (ON DELETE CASCADE).
	res, err := t.q.ExecContext(t.ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Webhook", id)
	}
	return nil
}

func (t *writeTx) RedeliverWebhook(_ context.Context, webhookID, deliveryID int64, now time.Time) (*core.WebhookDelivery, error) {
	res, err := t.q.ExecContext(t.ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
		delivered_at = NULL WHERE id = ? AND webhook_id = ?`, toDB(now), deliveryID, webhookID)
	if err != nil {
		return nil, fmt.Errorf("redeliver delivery %d of webhook %d: %w", deliveryID, webhookID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, notFound("Delivery", deliveryID)
	}
	t.hooksChanged()
	if _, err := t.q.ExecContext(t.ctx, `UPDATE webhooks SET disabled = 0, disabled_reason = '', failing_since = NULL
		WHERE id = ?`, webhookID); err != nil {
		return nil, fmt.Errorf("enable webhook %d: %w", webhookID, err)
	}
	return t.delivery(webhookID, deliveryID)
}

// addFailedChange writes the notification.failed change of notification id, which has just
// become failed with lastErr, at at.
func (t *writeTx) addFailedChange(id int64, lastErr string, at time.Time) error {
	var ch, recipient string
	var ticket, account int64
	err := t.q.QueryRowContext(t.ctx, `SELECT n.channel, n.recipient, COALESCE(n.ticket_id, 0), COALESCE(tk.account_id, 0)
		FROM notifications n LEFT JOIN tickets tk ON tk.id = n.ticket_id WHERE n.id = ?`, id).Scan(&ch, &recipient, &ticket, &account)
	if err != nil {
		return fmt.Errorf("notification %d: %w", id, err)
	}
	return t.AddChange(t.ctx, &core.Change{Type: core.ChangeNotificationFailed, At: at, AccountID: account, TicketID: ticket,
		Internal: true, Detail: ch + " to " + recipient + ": " + lastErr})
}

// markFailed gives notification id up if it is pending and writes its notification.failed
// change.
func (t *writeTx) markFailed(id int64, attempts int, lastErr string, at time.Time) error {
	res, err := t.q.ExecContext(t.ctx, markFailedSQL, attempts, lastErr, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return t.addFailedChange(id, lastErr, at)
}

// addRejectedChange writes the inbound.rejected change of r.
func (t *writeTx) addRejectedChange(r *core.InboundRecord) error {
	var account int64
	if r.TicketID != 0 {
		err := t.q.QueryRowContext(t.ctx, `SELECT account_id FROM tickets WHERE id = ?`, r.TicketID).Scan(&account)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account of ticket %d: %w", r.TicketID, err)
		}
	}
	return t.AddChange(t.ctx, &core.Change{Type: core.ChangeInboundRejected, At: r.At, AccountID: account, TicketID: r.TicketID,
		Internal: true, Detail: rejectedDetail(r)})
}

// rejectedDetail is the Detail of an inbound.rejected change: the reason and the message.
func rejectedDetail(r *core.InboundRecord) string {
	s := string(r.Channel) + " " + r.Key
	if r.Sender != "" {
		s += " from " + r.Sender
	}
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}
