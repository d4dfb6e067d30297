package core

import (
	"context"
	"time"
)

// ChangeReadTx reads the change log and the webhooks.
type ChangeReadTx interface {
	// Changes lists changes as f selects them, in ID order.
	Changes(ctx context.Context, f ChangeFilter) ([]Change, error)
	// Webhook returns a webhook with its secret, or ENOTFOUND.
	Webhook(ctx context.Context, id int64) (*Webhook, error)
	// Webhooks lists every webhook by ID, secrets included.
	Webhooks(ctx context.Context) ([]Webhook, error)
	// WebhookDeliveries lists a page of a webhook's deliveries, newest first.
	WebhookDeliveries(ctx context.Context, webhookID int64, page Page) ([]WebhookDelivery, error)
}

// ChangeTx writes the change log and the webhooks.
type ChangeTx interface {
	ChangeReadTx
	// AddChange appends c to the change log, sets c.ID, and queues a delivery of it for
	// every webhook that is not disabled and subscribes to c.Type, due at c.At.
	AddChange(ctx context.Context, c *Change) error
	// CreateWebhook stores w and sets its ID.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook removes a webhook and its deliveries; ENOTFOUND if there is none.
	DeleteWebhook(ctx context.Context, id int64) error
	// RedeliverWebhook makes a delivery of the webhook pending again, due at now with no
	// attempts, enables the webhook and clears its failing streak, and returns the
	// delivery; ENOTFOUND if the webhook has no such delivery.
	RedeliverWebhook(ctx context.Context, webhookID, deliveryID int64, now time.Time) (*WebhookDelivery, error)
}
