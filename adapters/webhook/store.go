package webhook

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// Store is what delivery needs of the database.
type Store interface {
	// DueWebhooks claims and returns up to limit pending deliveries due at now, of webhooks
	// not disabled, oldest first, each with its endpoint, secret and change. On a store
	// shared by several nodes a claim keeps the others off the delivery until its outcome
	// is recorded or the claim ends (as the outbox's notifications).
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]core.WebhookJob, error)
	// RecordWebhook records an attempt's outcome on its delivery (state, attempts, last
	// status and error, next attempt or delivery time; the claim ends) and on its webhook:
	// a delivered one clears FailingSince, any other sets it to o.At unless set. It returns
	// the webhook as it is after the write (ENOTFOUND if it was deleted meanwhile).
	RecordWebhook(ctx context.Context, o core.WebhookOutcome) (*core.Webhook, error)
	// DisableWebhook disables a webhook that is not yet disabled, with reason, and says
	// whether it did: of several nodes seeing the same failing streak, one tells staff.
	DisableWebhook(ctx context.Context, id int64, reason string) (bool, error)
}
