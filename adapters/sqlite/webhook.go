package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/core"
)

// The webhook deliveries as the webhook dispatcher takes and records them. The store is one
// process's, so a due delivery is not claimed: the dispatcher is the only one taking them.

var _ webhook.Store = (*DB)(nil)

// DueWebhooks returns up to limit pending deliveries due at now, of webhooks not disabled,
// oldest first, each with its endpoint, secret and change.
func (db *DB) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]core.WebhookJob, error) {
	var list []core.WebhookJob
	err := db.Read(ctx, func(rtx core.ReadTx) error {
		t := rtx.(*readTx)
		rows, err := t.q.QueryContext(t.ctx, `SELECT `+deliveryColumns+`, w.url, w.secret, `+changeColumns+`
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN changes c ON c.id = d.change_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.disabled = 0
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, toDB(now), limit)
		if err != nil {
			return fmt.Errorf("due webhook deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var j core.WebhookJob
			if err := scanJob(rows, &j); err != nil {
				return err
			}
			list = append(list, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// scanJob reads a row of deliveryColumns, the webhook's url and secret, and changeColumns.
func scanJob(s scanner, j *core.WebhookJob) error {
	var typ string
	var at int64
	c := &j.Change
	err := scanDelivery(s, &j.Delivery, &j.URL, &j.Secret, &c.ID, &typ, &at, &c.AccountID, &c.TicketID, &c.MessageID,
		&c.Internal, &c.From, &c.To, &c.AssigneeUserID, &c.DepartmentID, &c.Detail)
	c.Type, c.At = core.ChangeType(typ), fromDB(at)
	return err
}

// RecordWebhook records an attempt's outcome on its delivery and on its webhook (if the
// delivery is still pending: a late outcome changes neither), and returns the webhook as it is after the write; ENOTFOUND if the
// webhook is gone.
func (db *DB) RecordWebhook(ctx context.Context, o core.WebhookOutcome) (*core.Webhook, error) {
	var w *core.Webhook
	err := db.Write(ctx, func(tx core.Tx) error {
		t := tx.(*writeTx)
		var q string
		var args []any
		switch o.State {
		case core.DeliveryDelivered:
			q, args = `UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, last_status = ?, last_error = ?, delivered_at = ?`,
				[]any{o.Attempts, o.LastStatus, o.LastError, toDB(o.At)}
		case core.DeliveryFailed:
			q, args = `UPDATE webhook_deliveries SET state = 'failed', attempts = ?, last_status = ?, last_error = ?`,
				[]any{o.Attempts, o.LastStatus, o.LastError}
		case core.DeliveryPending:
			q, args = `UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?`,
				[]any{o.Attempts, o.LastStatus, o.LastError, toDB(o.Next)}
		default:
			return fmt.Errorf("outcome of delivery %d: state %q is no delivery outcome", o.DeliveryID, o.State)
		}
		res, err := t.q.ExecContext(t.ctx, q+` WHERE id = ? AND webhook_id = ? AND state = 'pending'`,
			append(args, o.DeliveryID, o.WebhookID)...)
		if err != nil {
			return fmt.Errorf("outcome of delivery %d: %w", o.DeliveryID, err)
		}
		switch n, _ := res.RowsAffected(); {
		case n == 0:
			// A late outcome of a delivery that is done (or gone) says nothing of the endpoint now.
		case o.State == core.DeliveryDelivered:
			_, err = t.q.ExecContext(t.ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ?`, o.WebhookID)
		default:
			_, err = t.q.ExecContext(t.ctx, `UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?`,
				nullInt(toDB(o.At)), o.WebhookID)
		}
		if err != nil {
			return fmt.Errorf("outcome of delivery %d on webhook %d: %w", o.DeliveryID, o.WebhookID, err)
		}
		w, err = t.Webhook(t.ctx, o.WebhookID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// DisableWebhook disables a webhook that is not yet disabled, with reason, and says whether
// it did (false for a webhook that is disabled already or gone).
func (db *DB) DisableWebhook(ctx context.Context, id int64, reason string) (bool, error) {
	var did bool
	err := db.Write(ctx, func(tx core.Tx) error {
		t := tx.(*writeTx)
		res, err := t.q.ExecContext(t.ctx, `UPDATE webhooks SET disabled = 1, disabled_reason = ? WHERE id = ? AND disabled = 0`, reason, id)
		if err != nil {
			return fmt.Errorf("disable webhook %d: %w", id, err)
		}
		n, _ := res.RowsAffected()
		did = n > 0
		return nil
	})
	return did, err
}
