package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook is an endpoint of a panel that is told of changes: every change of the types it
// subscribes to is queued for it in the change's transaction and delivered, signed with
// Secret, until it answers 2xx or the retries run out.
type Webhook struct {
	ID     int64
	URL    string
	Events []ChangeType
	// Secret signs the deliveries (Standard Webhooks: "whsec_" and the base64 of the key).
	// It is answered once, when the webhook is created.
	Secret    string
	CreatedAt time.Time
	// Disabled is set when the endpoint failed for WebhookDisableAfter; DisabledReason says why.
	Disabled       bool
	DisabledReason string
	// FailingSince is the first failed attempt since the last delivery that succeeded (zero:
	// none failing).
	FailingSince time.Time
}

// WebhookSecretPrefix starts every webhook secret, as the Standard Webhooks libraries expect.
const WebhookSecretPrefix = "whsec_"

// DeliveryState is where a webhook delivery is.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
)

// WebhookDelivery is one change to deliver to one webhook, and how its attempts went.
type WebhookDelivery struct {
	ID            int64
	WebhookID     int64
	ChangeID      int64
	Type          ChangeType
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt (0: no answer); LastError why it failed.
	LastStatus  int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// WebhookJob is a due delivery with what it takes to make it: the endpoint and the change.
type WebhookJob struct {
	Delivery WebhookDelivery
	URL      string
	Secret   string
	Change   Change
}

// WebhookOutcome is what became of one attempt at a delivery.
type WebhookOutcome struct {
	DeliveryID, WebhookID int64
	// State is DeliveryDelivered, DeliveryFailed (given up) or DeliveryPending (Next).
	State      DeliveryState
	Attempts   int
	At, Next   time.Time
	LastStatus int
	LastError  string
}

// MaxWebhooks bounds how many webhooks a desk may have: each change is queued for each.
const MaxWebhooks = 50

// NewWebhook is what an admin registers.
type NewWebhook struct {
	URL    string
	Events []ChangeType
}

// CreateWebhook registers an endpoint and returns it with its secret, which is answered
// only here. allowPrivate (the daemon's [webhooks] allow_private) lets the URL name a
// loopback, link-local or private address; the address a name resolves to is checked again
// at every connection.
//
// Returns EINVALID naming url or events, ECONFLICT past MaxWebhooks.
func (s *Service) CreateWebhook(ctx context.Context, actor Actor, in NewWebhook, allowPrivate bool) (*Webhook, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad FieldErrors
	if msg := checkWebhookURL(in.URL, allowPrivate); msg != "" {
		bad.Add("url", msg)
	}
	var events []ChangeType
	for _, e := range in.Events {
		if !e.Valid() {
			bad.Add("events", "unknown event type "+strings.TrimSpace(string(e))+"; known: "+changeTypeList())
			break
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if len(in.Events) == 0 {
		bad.Add("events", "must name at least one event type: "+changeTypeList())
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	w := &Webhook{URL: in.URL, Events: events, Secret: WebhookSecretPrefix + base64.StdEncoding.EncodeToString(key[:]),
		CreatedAt: s.clock.Now()}
	err := s.store.Write(ctx, func(tx Tx) error {
		all, err := tx.Webhooks(ctx)
		if err != nil {
			return err
		}
		if len(all) >= MaxWebhooks {
			return Errorf(ECONFLICT, "A desk has at most %d webhooks; delete one first.", MaxWebhooks)
		}
		return tx.CreateWebhook(ctx, w)
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func changeTypeList() string {
	var names []string
	for _, t := range ChangeTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// checkWebhookURL says what is wrong with a webhook URL ("" when nothing).
func checkWebhookURL(raw string, allowPrivate bool) string {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "is required"
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not carry a user or password"
	case len(raw) > 2000:
		return "must be at most 2000 characters"
	}
	if allowPrivate {
		return ""
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return "names a loopback host; set [webhooks] allow_private = true to allow it"
	}
	if ip := net.ParseIP(host); ip != nil && PrivateAddress(ip) {
		return "names a loopback, link-local or private address; set [webhooks] allow_private = true to allow it"
	}
	return ""
}

// PrivateAddress reports whether ip is one a webhook may reach only with allow_private:
// loopback, link-local, private (RFC 1918, unique local), unspecified or multicast, so
// that a webhook cannot be aimed at the desk's own network.
func PrivateAddress(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		// 100.64.0.0/10, carrier-grade NAT: as private as RFC 1918 on a provider's network.
		(ip.To4() != nil && ip.To4()[0] == 100 && ip.To4()[1]&0xc0 == 64)
}

// Webhooks lists every webhook without its secret.
func (s *Service) Webhooks(ctx context.Context, actor Actor) ([]Webhook, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var out []Webhook
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Webhooks(ctx)
		return err
	})
	for i := range out {
		out[i].Secret = ""
	}
	return out, err
}

// DeleteWebhook removes a webhook and its deliveries. Returns ENOTFOUND.
func (s *Service) DeleteWebhook(ctx context.Context, actor Actor, id int64) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error { return tx.DeleteWebhook(ctx, id) })
}

// WebhookDeliveries lists a page of a webhook's deliveries, newest first. Returns ENOTFOUND.
func (s *Service) WebhookDeliveries(ctx context.Context, actor Actor, webhookID int64, page Page) ([]WebhookDelivery, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if page.Number == 0 {
		page.Number = 1
	}
	if page.Size == 0 {
		page.Size = 50
	}
	var bad FieldErrors
	if page.Number < 1 {
		bad.Add("page", "must be a positive integer")
	}
	if page.Size < 1 || page.Size > 200 {
		bad.Add("pageSize", "must be between 1 and 200")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	var out []WebhookDelivery
	err := s.store.Read(ctx, func(tx ReadTx) error {
		if _, err := tx.Webhook(ctx, webhookID); err != nil {
			return err
		}
		var err error
		out, err = tx.WebhookDeliveries(ctx, webhookID, page)
		return err
	})
	return out, err
}

// Redeliver queues a delivery again, now, with its attempts counted afresh and its
// webhook-id kept, so a receiver that did get it can tell. A disabled webhook is enabled
// again: an admin redelivering says the endpoint is back. Returns ENOTFOUND.
func (s *Service) Redeliver(ctx context.Context, actor Actor, webhookID, deliveryID int64) (*WebhookDelivery, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var d *WebhookDelivery
	err := s.store.Write(ctx, func(tx Tx) error {
		var err error
		d, err = tx.RedeliverWebhook(ctx, webhookID, deliveryID, s.clock.Now())
		return err
	})
	return d, err
}

// WebhookDisableAfter is how long an endpoint may fail every attempt before it is disabled.
const WebhookDisableAfter = 72 * time.Hour

// WebhookDisabled tells staff that a webhook was disabled (a notice to the staff
// addresses and chat), in a transaction of its own after the store disabled it.
func (s *Service) WebhookDisabled(ctx context.Context, w Webhook) error {
	text := "Webhook #" + itoa(w.ID) + " (" + w.URL + ") was disabled: " + w.DisabledReason +
		". Nothing more is sent to it until an admin redelivers one of its deliveries."
	return s.store.Write(ctx, func(tx Tx) error {
		return s.notifyStaff(ctx, tx, Notification{Kind: NotifyNotice, Detail: text})
	})
}
