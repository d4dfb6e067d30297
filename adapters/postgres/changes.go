package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The change log and the webhooks (core.ChangeReadTx, core.ChangeTx): each change is
// written with one delivery per subscribed webhook, in the transaction of what it records.

var (
	_ core.ChangeReadTx = (*readTx)(nil)
	_ core.ChangeTx     = (*writeTx)(nil)
)

const changeColumns = `c.id, COALESCE(c.seq, 0), c.type, c.at, COALESCE(c.account_id, 0), COALESCE(c.ticket_id, 0), COALESCE(c.message_id, 0),
	c.internal, COALESCE(c.from_status, 0), COALESCE(c.to_status, 0), COALESCE(c.assignee_user_id, 0),
	COALESCE(c.department_id, 0), c.detail`

// changeDest are the destinations of changeColumns in c; typ and at are converted by
// changeFrom.
func changeDest(c *core.Change, typ *string, at *time.Time) []any {
	return []any{&c.ID, &c.Seq, typ, at, &c.AccountID, &c.TicketID, &c.MessageID, &c.Internal, &c.From, &c.To,
		&c.AssigneeUserID, &c.DepartmentID, &c.Detail}
}

func scanChange(s scanner) (core.Change, error) {
	var c core.Change
	var typ string
	var at time.Time
	err := s.Scan(changeDest(&c, &typ, &at)...)
	c.Type, c.At = core.ChangeType(typ), at.UTC()
	return c, err
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
	if t.db != nil && !t.lock {
		// Before the read's snapshot is taken (its first statement): every change committed
		// by now gets its number, and the read sees them.
		if err := t.db.numberChanges(t.ctx); err != nil {
			return nil, err
		}
	}
	q := `SELECT ` + changeColumns + ` FROM changes c WHERE c.seq > $1`
	args := []any{f.After, nil}
	if f.Limit > 0 {
		args[1] = f.Limit // LIMIT NULL: all
	}
	if f.AccountID != 0 {
		args = append(args, f.AccountID)
		q += fmt.Sprintf(` AND c.account_id = $%d`, len(args))
	}
	if f.Public {
		args = append(args, staffOnlyTypes(), string(core.ChangeMessageCreated))
		q += fmt.Sprintf(` AND NOT c.internal AND c.type <> ALL($%d)
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id AND c.type = $%d AND (m.internal OR m.hidden))`,
			len(args)-1, len(args))
	}
	rows, err := t.tx.Query(t.ctx, q+` ORDER BY c.seq LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", f.After, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Change, error) { return scanChange(row) })
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", f.After, err)
	}
	return nonNil(list), nil
}

// webhookColumns are a webhook's columns for webhooks w, its events included.
const webhookColumns = `w.id, w.url, w.secret, w.created_at, w.disabled, w.disabled_reason, w.failing_since,
	ARRAY(SELECT e.type FROM webhook_events e WHERE e.webhook_id = w.id ORDER BY e.seq)`

func scanWebhook(s scanner) (core.Webhook, error) {
	var w core.Webhook
	var created time.Time
	var failing *time.Time
	var events []string
	err := s.Scan(&w.ID, &w.URL, &w.Secret, &created, &w.Disabled, &w.DisabledReason, &failing, &events)
	w.CreatedAt, w.FailingSince = created.UTC(), fromTS(failing)
	w.Events = make([]core.ChangeType, len(events))
	for i, e := range events {
		w.Events[i] = core.ChangeType(e)
	}
	return w, err
}

// readWebhook reads a webhook in tx, or ENOTFOUND.
func readWebhook(ctx context.Context, tx pgx.Tx, id int64) (*core.Webhook, error) {
	w, err := scanWebhook(tx.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks w WHERE w.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Webhook", id)
	} else if err != nil {
		return nil, fmt.Errorf("webhook %d: %w", id, err)
	}
	return &w, nil
}

func (t *readTx) Webhook(_ context.Context, id int64) (*core.Webhook, error) {
	return readWebhook(t.ctx, t.tx, id)
}

func (t *readTx) Webhooks(_ context.Context) ([]core.Webhook, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT `+webhookColumns+` FROM webhooks w ORDER BY w.id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.Webhook, error) { return scanWebhook(row) })
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return nonNil(list), nil
}

const deliveryColumns = `d.id, d.webhook_id, d.change_id, c.type, d.state, d.attempts, d.next_attempt_at, d.last_status,
	d.last_error, d.created_at, d.delivered_at`

// scanDelivery reads a row of deliveryColumns into d, and the row's further columns into more.
func scanDelivery(s scanner, d *core.WebhookDelivery, more ...any) error {
	var typ, state string
	var next, created time.Time
	var delivered *time.Time
	err := s.Scan(append([]any{&d.ID, &d.WebhookID, &d.ChangeID, &typ, &state, &d.Attempts, &next, &d.LastStatus,
		&d.LastError, &created, &delivered}, more...)...)
	d.Type, d.State = core.ChangeType(typ), core.DeliveryState(state)
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = next.UTC(), created.UTC(), fromTS(delivered)
	return err
}

func (t *readTx) WebhookDeliveries(_ context.Context, webhookID int64, page core.Page) ([]core.WebhookDelivery, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d JOIN changes c ON c.id = d.change_id
		WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2 OFFSET $3`, webhookID, page.Size, page.Offset())
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook %d: %w", webhookID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.WebhookDelivery, error) {
		var d core.WebhookDelivery
		err := scanDelivery(row, &d)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook %d: %w", webhookID, err)
	}
	return nonNil(list), nil
}

func (t *writeTx) AddChange(_ context.Context, c *core.Change) error {
	n, err := addChange(t.ctx, t.tx, c)
	if n > 0 {
		t.queued = true // the commit wakes the deliveries
	}
	return err
}

// addChange appends c to the change log in tx, sets c.ID and queues its deliveries: for
// core's writes and for the store's own (a notification given up, a mail rejected). It
// returns how many deliveries it queued.
func addChange(ctx context.Context, tx pgx.Tx, c *core.Change) (int, error) {
	var n int
	var from, to *int
	if c.Type == core.ChangeTicketStatusChanged {
		from, to = new(int(c.From)), new(int(c.To))
	}
	// The change and its deliveries in one statement, one round trip.
	err := tx.QueryRow(ctx, `WITH c AS (
			INSERT INTO changes (type, at, account_id, ticket_id, message_id, internal, from_status, to_status,
				assignee_user_id, department_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
		), d AS (
			INSERT INTO webhook_deliveries (webhook_id, change_id, state, attempts, next_attempt_at, created_at)
			SELECT w.id, c.id, 'pending', 0, $2, $2 FROM c, webhooks w JOIN webhook_events e ON e.webhook_id = w.id
			WHERE e.type = $1 AND NOT w.disabled ORDER BY w.id
			RETURNING 1
		) SELECT id, (SELECT count(*) FROM d) FROM c`,
		string(c.Type), ts(c.At), nullID(c.AccountID), nullID(c.TicketID), nullID(c.MessageID), c.Internal, from, to,
		nullID(c.AssigneeUserID), nullID(c.DepartmentID), c.Detail).Scan(&c.ID, &n)
	if err != nil {
		return 0, fmt.Errorf("add %s change: %w", c.Type, err)
	}
	return n, nil
}

func (t *writeTx) CreateWebhook(_ context.Context, w *core.Webhook) error {
	var events []string
	for _, e := range w.Events {
		if !slices.Contains(events, string(e)) {
			events = append(events, string(e))
		}
	}
	err := t.tx.QueryRow(t.ctx, `WITH w AS (
			INSERT INTO webhooks (url, secret, created_at, disabled, disabled_reason, failing_since)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
		), e AS (
			INSERT INTO webhook_events (webhook_id, type, seq)
			SELECT w.id, x.type, x.n FROM w, unnest($7::text[]) WITH ORDINALITY AS x(type, n)
		) SELECT id FROM w`,
		w.URL, w.Secret, ts(w.CreatedAt), w.Disabled, w.DisabledReason, ts(w.FailingSince), events).Scan(&w.ID)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

func (t *writeTx) DeleteWebhook(_ context.Context, id int64) error {
	// The deliveries and subscriptions go with it (ON DELETE CASCADE).
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Webhook", id)
	}
	return nil
}

func (t *writeTx) RedeliverWebhook(_ context.Context, webhookID, deliveryID int64, now time.Time) (*core.WebhookDelivery, error) {
	var d core.WebhookDelivery
	err := scanDelivery(t.tx.QueryRow(t.ctx, `WITH d AS (
			UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, delivered_at = NULL,
				locked_until = NULL, claimed_by = NULL
			WHERE id = $2 AND webhook_id = $3 RETURNING *
		), w AS (
			UPDATE webhooks SET disabled = false, disabled_reason = '', failing_since = NULL
			WHERE id = $3 AND EXISTS (SELECT 1 FROM d)
		) SELECT `+deliveryColumns+` FROM d JOIN changes c ON c.id = d.change_id`, ts(now), deliveryID, webhookID), &d)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Delivery", deliveryID)
	} else if err != nil {
		return nil, fmt.Errorf("redeliver delivery %d of webhook %d: %w", deliveryID, webhookID, err)
	}
	return &d, nil
}

// markFailed gives notification id up if it is pending, ending any claim, and writes its
// notification.failed change at at (the zero time: now).
func markFailed(ctx context.Context, tx pgx.Tx, id int64, attempts int, lastErr string, at time.Time) error {
	var ch, recipient string
	var ticket, account int64
	err := tx.QueryRow(ctx, `WITH n AS (`+markFailedSQL+` RETURNING channel, recipient, ticket_id)
		SELECT n.channel, n.recipient, COALESCE(n.ticket_id, 0), COALESCE(t.account_id, 0)
		FROM n LEFT JOIN tickets t ON t.id = n.ticket_id`, attempts, lastErr, id).Scan(&ch, &recipient, &ticket, &account)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // not pending: withdrawn, bounced or recorded before
	} else if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	_, err = addChange(ctx, tx, &core.Change{Type: core.ChangeNotificationFailed, At: at, AccountID: account, TicketID: ticket,
		Internal: true, Detail: ch + " to " + recipient + ": " + lastErr})
	return err
}

// addRejectedChange writes the inbound.rejected change of r in tx.
func addRejectedChange(ctx context.Context, tx pgx.Tx, r *core.InboundRecord) error {
	var account int64
	if r.TicketID != 0 {
		err := tx.QueryRow(ctx, `SELECT account_id FROM tickets WHERE id = $1`, r.TicketID).Scan(&account)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("account of ticket %d: %w", r.TicketID, err)
		}
	}
	_, err := addChange(ctx, tx, &core.Change{Type: core.ChangeInboundRejected, At: r.At, AccountID: account, TicketID: r.TicketID,
		Internal: true, Detail: rejectedDetail(r)})
	return err
}

// rejectedDetail is the Detail of an inbound.rejected change: the message and the reason.
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

// changeNumbering is the advisory lock of numberChanges: one numbering at a time, across nodes.
const changeNumbering = 0x68646368 // "hdch"

// numberChanges gives every committed change without a feed position one, after every
// position given so far, in ID order: a change that commits later is numbered later, so a
// reader paging by position never skips one that committed after its read (which paging
// by ID would: two writes take their IDs in one order and may commit in the other). A
// change copied from SQLite keeps its ID as its position, as the SQLite feed numbers it.
func (db *DB) numberChanges(ctx context.Context) error {
	return db.committed(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, changeNumbering); err != nil {
			return fmt.Errorf("number changes: %w", err)
		}
		// After the lock, so the statement's snapshot has the last numbering's commit.
		_, err := tx.Exec(ctx, `WITH top AS (SELECT COALESCE(max(seq), 0) AS m FROM changes),
			todo AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM changes WHERE seq IS NULL)
			UPDATE changes c SET seq = GREATEST(c.id, top.m + todo.rn) FROM todo, top WHERE c.id = todo.id`)
		if err != nil {
			return fmt.Errorf("number changes: %w", err)
		}
		return nil
	})
}
