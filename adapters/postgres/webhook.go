package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/core"
)

// The webhook deliveries as the webhook dispatchers of several nodes take and record them:
// DueWebhooks claims what it returns, as DueIn claims notifications (outbox.go).

var _ webhook.Store = (*DB)(nil)

// deliveryUnclaimed is unclaimed (outbox.go) for webhook_deliveries d.
func deliveryUnclaimed(now string) string {
	return `(d.locked_until IS NULL OR d.locked_until < ` + now + ` OR NOT EXISTS (SELECT 1 FROM leases l
		WHERE l.name = 'node:' || d.claimed_by AND l.expires_at > clock_timestamp()))`
}

// DueWebhooks claims and returns up to limit pending deliveries due at now, of webhooks not
// disabled, oldest first, each with its endpoint, secret and change. A delivery another node
// claimed is skipped until its claim expires (claimTTL past the now it was claimed at) or
// that node's liveness lease does, or until its outcome is recorded; one another claim is
// taking at this moment is skipped at once (SKIP LOCKED).
func (db *DB) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]core.WebhookJob, error) {
	at := bound(now)
	var list []core.WebhookJob
	err := db.claim(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deliveryColumns+`, w.url, w.secret, `+changeColumns+`
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN changes c ON c.id = d.change_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND NOT w.disabled AND `+deliveryUnclaimed("$1")+`
			ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED`, at, limit)
		if err != nil {
			return fmt.Errorf("due webhook deliveries: %w", err)
		}
		list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (core.WebhookJob, error) {
			var j core.WebhookJob
			var typ string
			var at time.Time
			err := scanDelivery(row, &j.Delivery, append([]any{&j.URL, &j.Secret}, changeDest(&j.Change, &typ, &at)...)...)
			j.Change.Type, j.Change.At = core.ChangeType(typ), at.UTC()
			return j, err
		})
		if err != nil {
			return fmt.Errorf("due webhook deliveries: %w", err)
		}
		if len(list) == 0 {
			return nil
		}
		ids := make([]int64, len(list))
		for i, j := range list {
			ids[i] = j.Delivery.ID
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET locked_until = $1, claimed_by = $2 WHERE id = ANY($3)`,
			at.Add(claimTTL), db.node, ids); err != nil {
			return fmt.Errorf("claim due webhook deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// RecordWebhook records an attempt's outcome on its delivery, ending the claim, and on its
// webhook (if the delivery is still pending: a late outcome changes neither), and returns the webhook as it is after the write;
// ENOTFOUND if the webhook is gone.
func (db *DB) RecordWebhook(ctx context.Context, o core.WebhookOutcome) (*core.Webhook, error) {
	var set string
	var args []any
	switch o.State {
	case core.DeliveryDelivered:
		set, args = `state = 'delivered', delivered_at = $6`, []any{ts(o.At)}
	case core.DeliveryFailed:
		set = `state = 'failed'`
	case core.DeliveryPending:
		set, args = `next_attempt_at = $6`, []any{ts(o.Next)}
	default:
		return nil, fmt.Errorf("outcome of delivery %d: state %q is no delivery outcome", o.DeliveryID, o.State)
	}
	failing, failingArgs := `UPDATE webhooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2`, []any{ts(o.At), o.WebhookID}
	if o.State == core.DeliveryDelivered {
		failing, failingArgs = `UPDATE webhooks SET failing_since = NULL WHERE id = $1`, []any{o.WebhookID}
	}
	var w *core.Webhook
	err := db.serial(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET `+set+`, attempts = $3, last_status = $4, last_error = $5,
			locked_until = NULL, claimed_by = NULL WHERE id = $1 AND webhook_id = $2 AND state = 'pending'`,
			append([]any{o.DeliveryID, o.WebhookID, o.Attempts, o.LastStatus, o.LastError}, args...)...)
		if err != nil {
			return fmt.Errorf("outcome of delivery %d: %w", o.DeliveryID, err)
		}
		// A late outcome of a delivery that is done (or gone) says nothing of the endpoint now.
		if tag.RowsAffected() > 0 {
			if _, err := tx.Exec(ctx, failing, failingArgs...); err != nil {
				return fmt.Errorf("outcome of delivery %d on webhook %d: %w", o.DeliveryID, o.WebhookID, err)
			}
		}
		w, err = readWebhook(ctx, tx, o.WebhookID)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return w, nil
}

// DisableWebhook disables a webhook that is not yet disabled, with reason, and says whether
// it did (false for a webhook that is disabled already or gone): of several nodes seeing the
// same failing streak, one is told true.
func (db *DB) DisableWebhook(ctx context.Context, id int64, reason string) (bool, error) {
	var did bool
	err := db.serial(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhooks SET disabled = true, disabled_reason = $1 WHERE id = $2 AND NOT disabled`, reason, id)
		if err != nil {
			return fmt.Errorf("disable webhook %d: %w", id, err)
		}
		did = tag.RowsAffected() > 0
		return nil
	})
	if err != nil {
		return false, err
	}
	return did, nil
}
