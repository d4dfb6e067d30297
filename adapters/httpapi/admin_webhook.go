package httpapi

import (
	"net/http"

	"github.com/helpdeskd/helpdeskd/core"
)

// Webhooks, managed with an admin key.

type webhookRequest struct {
	URL    *string  `json:"url"`
	Events []string `json:"events"`
}

type webhookDTO struct {
	ID     int64    `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Secret is answered once, by the create.
	Secret         string     `json:"secret,omitempty"`
	CreatedAt      timestamp  `json:"createdAt"`
	Disabled       bool       `json:"disabled"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	FailingSince   *timestamp `json:"failingSince"`
}

func toWebhook(w *core.Webhook) webhookDTO {
	out := webhookDTO{ID: w.ID, URL: w.URL, Events: make([]string, 0, len(w.Events)), Secret: w.Secret,
		CreatedAt: timestamp(w.CreatedAt), Disabled: w.Disabled, DisabledReason: w.DisabledReason,
		FailingSince: optionalTime(w.FailingSince)}
	for _, e := range w.Events {
		out.Events = append(out.Events, string(e))
	}
	return out
}

type deliveryDTO struct {
	ID            int64      `json:"id"`
	WebhookID     int64      `json:"webhookId"`
	Type          string     `json:"type"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *timestamp `json:"nextAttemptAt"`
	LastStatus    *int       `json:"lastStatus"`
	LastError     string     `json:"lastError"`
	CreatedAt     timestamp  `json:"createdAt"`
	DeliveredAt   *timestamp `json:"deliveredAt"`
}

func toDelivery(d *core.WebhookDelivery) deliveryDTO {
	out := deliveryDTO{ID: d.ID, WebhookID: d.WebhookID, Type: string(d.Type), State: string(d.State),
		Attempts: d.Attempts, LastStatus: optional(d.LastStatus), LastError: d.LastError,
		CreatedAt: timestamp(d.CreatedAt), DeliveredAt: optionalTime(d.DeliveredAt)}
	if d.State == core.DeliveryPending {
		out.NextAttemptAt = optionalTime(d.NextAttemptAt)
	}
	return out
}

// POST /api/admin/Webhook
func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := core.NewWebhook{}
	if req.URL != nil {
		in.URL = *req.URL
	}
	for _, e := range req.Events {
		in.Events = append(in.Events, core.ChangeType(e))
	}
	wh, err := s.svc.CreateWebhook(r.Context(), actorOf(r), in, s.opts.WebhooksAllowPrivate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusCreated, "Webhook created; its secret is shown only this once.", toWebhook(wh))
}

// GET /api/admin/Webhook
func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Webhooks(r.Context(), actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toWebhook)
	s.respondList(w, r, "Webhooks retrieved successfully.", out, wholeList(len(out)))
}

// DELETE /api/admin/Webhook/{id}
func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteWebhook(r.Context(), actorOf(r), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Webhook deleted.", nil)
}

// GET /api/admin/Webhook/{id}/Delivery?pageNumber=&pageSize=
func (s *server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var bad core.FieldErrors
	page := pageQuery(&bad, r.URL.Query())
	if err := bad.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.WebhookDeliveries(r.Context(), actorOf(r), id, page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convertAll(list, toDelivery)
	s.respondList(w, r, "Deliveries retrieved successfully.", out, wholeList(len(out)))
}

// POST /api/admin/Webhook/{id}/Delivery/{deliveryId}/Redeliver
func (s *server) redeliverWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deliveryID, err := pathID(r, "deliveryId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.Redeliver(r.Context(), actorOf(r), id, deliveryID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.opts.WebhookKick != nil {
		s.opts.WebhookKick()
	}
	s.respond(w, r, http.StatusOK, "Delivery queued again.", toDelivery(d))
}
