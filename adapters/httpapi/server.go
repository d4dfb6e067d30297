package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// Metrics is what the API needs of the daemon's metrics: to record each request and to
// serve the scrape endpoint.
type Metrics interface {
	// ObserveHTTP records one request: its route pattern (UnmatchedRoute when none
	// matched), method, status code and duration.
	ObserveHTTP(route, method string, code int, d time.Duration)
	// Handler serves GET /metrics.
	Handler() http.Handler
}

// UnmatchedRoute is the route of requests that matched no route: one label for them all, so
// that a scan of random paths cannot grow the metrics without bound.
const UnmatchedRoute = "unmatched"

// Options configures the API. The zero value is usable.
type Options struct {
	// Logger receives the access log (Info; Debug for the ops endpoints) and internal
	// errors and panics (Error). nil discards.
	Logger *slog.Logger
	// Metrics, when set, records the latency of every request by route pattern and serves
	// GET /metrics.
	Metrics Metrics
	// Ready answers GET /readyz: nil error is ready. nil means always ready.
	Ready func(ctx context.Context) error
	// Leases, when set, lists the leases this node holds (the singleton jobs it runs, such
	// as "imap:INBOX"); /readyz answers them in its data.
	Leases func() []string
	// ReadyData, when set, adds to /readyz's data what the channels report, such as
	// {"telegram": {"state": "throttled", …}}.
	ReadyData func() map[string]any
	// MaxBodyBytes limits every request body. 0 means DefaultMaxBodyBytes, raised if need
	// be to the attachment limit plus room for the form around the file.
	MaxBodyBytes int64
	// TelegramBot is the bot's username, for the deep link of POST /api/Telegram/Link.
	TelegramBot string
	// LinkTelegram makes a one-time code that links user's Telegram account. nil means
	// Telegram is not enabled (POST /api/Telegram/Link answers 503).
	LinkTelegram func(ctx context.Context, user *core.User) (code string, expires time.Time, err error)
	// RateLimit is how many requests per second one API key may make on average, RateBurst
	// how many at once; over it the API answers 429 with Retry-After. 0 means no limit.
	RateLimit float64
	RateBurst int
	// FailedAuthPerMinute is how many failed authentications (401: no key, an unknown or a
	// revoked key) one client address may have per minute on average, FailedAuthBurst how
	// many at once; over it every /api and /v1 request from the address answers 429 with
	// Retry-After, before its key is looked up. 0 means no limit.
	FailedAuthPerMinute float64
	FailedAuthBurst     int
	// Now is the limiters' clock; nil means time.Now.
	Now func() time.Time
	// HideMetrics keeps GET /metrics off this handler (404) while Metrics still records:
	// the metrics are served on a listener of their own, or not at all.
	HideMetrics bool
	// Preview renders notification template name (a notification kind) in language ("":
	// the desk's default) and format (text, html, telegram) with sample data, for GET
	// /api/admin/Template/{name}/Preview; an EINVALID names a bad field. nil answers 503.
	Preview func(name, language, format string) (subject, body string, err error)
	// Idempotency keeps the Idempotency-Key rows of POST and PUT requests (idempotency.go);
	// nil turns the header off (it is ignored).
	Idempotency IdempotencyStore
	// WebhooksAllowPrivate lets a webhook's URL name a loopback, link-local or private
	// address ([webhooks] allow_private).
	WebhooksAllowPrivate bool
	// WebhookKick, when set, wakes the webhook deliveries after a redelivery is queued.
	WebhookKick func()
}

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

type server struct {
	svc     *core.Service
	opts    Options
	log     *slog.Logger
	maxBody int64
	limiter *limiter // nil: no rate limit
	// authFails counts failed authentications per client address; nil: no limit.
	authFails *limiter
}

// New returns the API's handler: the customer routes, the staff
// routes, the ops endpoints, provisioning, the compatibility routes and the OpenAPI document,
// behind request IDs, the access log, metrics, panic recovery, API-key authentication (with
// the per-address limit on failures), the per-key rate limit and the body limit.
func New(svc *core.Service, opts Options) http.Handler {
	s := &server{svc: svc, opts: opts, log: opts.Logger, maxBody: opts.MaxBodyBytes}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.RateLimit > 0 {
		// Only authenticated keys get a bucket, so their number bounds the map.
		s.limiter = newLimiter(opts.RateLimit, opts.RateBurst, 0, opts.Now)
	}
	if opts.FailedAuthPerMinute > 0 {
		s.authFails = newLimiter(opts.FailedAuthPerMinute/60, opts.FailedAuthBurst, maxFailedAuthAddrs, opts.Now)
	}
	if s.maxBody <= 0 {
		s.maxBody = max(DefaultMaxBodyBytes, svc.MaxAttachmentBytes()+formOverheadBytes)
	}
	return s.routes()
}

func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.observe, recoverPanics(s))
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed(r))

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if s.opts.Metrics != nil && !s.opts.HideMetrics {
		r.Method(http.MethodGet, "/metrics", s.opts.Metrics.Handler())
	}

	// The API's description needs no key: clients read it before they have one.
	r.Get(openAPIPath, s.openAPI)

	r.Route("/api", func(r chi.Router) {
		r.Use(s.authenticate, s.limitRate, s.limitBody, s.idempotent)

		r.Get("/Ticket/Topics", s.topics)
		r.Get("/Ticket/Statuses", s.statuses)
		r.Post("/Ticket", s.createTicket)
		r.Get("/Ticket", s.listTickets)
		r.Get("/Ticket/{id}", s.getTicket)
		r.Post("/Ticket/{id}/Reply", s.reply)
		r.Post("/Ticket/{id}/Close", s.closeTicket)
		r.Post("/Ticket/{id}/Archive", s.archiveTicket(true))
		r.Post("/Ticket/{id}/Unarchive", s.archiveTicket(false))
		r.Get("/Ticket/{id}/Attachment/{attachmentId}", s.attachment)
		r.Get("/Property", s.properties)
		r.Post("/Telegram/Link", s.linkTelegram)
		r.Get("/Event", s.customerEvents)

		r.Route("/staff", func(r chi.Router) {
			r.Use(requireRole(s, "Only staff can use this endpoint.", core.Role.IsStaff))
			r.Get("/Ticket", s.staffQueue)
			r.Get("/Ticket/{id}", s.staffGetTicket)
			r.Post("/Ticket/{id}/Status", s.staffSetStatus)
			r.Post("/Ticket/{id}/Reply", s.staffReply)
			r.Put("/Ticket/{id}/Assignment", s.staffAssign)
			r.Put("/Ticket/{id}/Deadline", s.staffDeadline)
			r.Put("/Ticket/{id}/Favourite", s.staffFavourite(true))
			r.Delete("/Ticket/{id}/Favourite", s.staffFavourite(false))
			r.Put("/Ticket/{id}/Read", s.staffRead(true))
			r.Delete("/Ticket/{id}/Read", s.staffRead(false))
			r.Put("/Ticket/{id}/Message/{messageId}", s.staffEditMessage)
			r.Get("/Ticket/{id}/Message/{messageId}/Revisions", s.staffRevisions)
			r.Post("/Ticket/{id}/Message/{messageId}/Hide", s.staffHide(true))
			r.Post("/Ticket/{id}/Message/{messageId}/Unhide", s.staffHide(false))
			r.Post("/Ticket/{id}/Split", s.staffSplit)
			r.Post("/Ticket/{id}/Merge", s.staffMerge)
			r.Get("/Ticket/{id}/History", s.staffHistory)
			r.Get("/Ticket/{id}/Attachment/{attachmentId}", s.staffAttachment)
			r.Get("/Department", s.staffDepartments)
			r.Get("/CannedReply", s.listCannedReplies)
			r.Post("/CannedReply", s.createCannedReply)
			r.Get("/CannedReply/{id}", s.getCannedReply)
			r.Put("/CannedReply/{id}", s.updateCannedReply)
			r.Delete("/CannedReply/{id}", s.deleteCannedReply)
			r.Get("/Notification", s.staffNotifications)
			r.Get("/InboundMail", s.staffInbound)
			r.Get("/Event", s.staffEvents)
		})

		r.Route("/admin", func(r chi.Router) {
			r.Use(requireRole(s, "Only admins can provision.", func(role core.Role) bool { return role == core.RoleAdmin }))
			r.Put("/Account/{id}", s.putAccount)
			r.Put("/User/{id}", s.putUser)
			r.Put("/Property/{id}", s.putProperty)
			r.Put("/Department/{id}", s.putDepartment)
			r.Post("/User/{id}/ApiKey", s.createAPIKey)
			r.Delete("/User/{id}/ApiKey/{keyId}", s.deleteAPIKey)
			r.Get("/User/{id}/Export", s.exportUser)
			r.Post("/User/{id}/Erase", s.eraseUser)
			r.Get("/Template/{name}/Preview", s.previewTemplate)
			r.Get("/Audit", s.auditLog)
			r.Post("/Webhook", s.createWebhook)
			r.Get("/Webhook", s.listWebhooks)
			r.Delete("/Webhook/{id}", s.deleteWebhook)
			r.Get("/Webhook/{id}/Delivery", s.webhookDeliveries)
			r.Post("/Webhook/{id}/Delivery/{deliveryId}/Redeliver", s.redeliverWebhook)
		})
	})

	// Seed 003's ticket API, for clients written against it (compat.go).
	r.Route("/v1/support", func(r chi.Router) {
		r.Use(s.authenticate, s.limitRate, s.limitBody, s.idempotent)
		r.Post("/tickets", s.compatCreate)
		r.Get("/tickets/{id}", s.compatGet)
	})
	return r
}

// actorOf is the authenticated caller, acting through the API.
func actorOf(r *http.Request) core.Actor {
	return core.Actor{User: userOf(r), Channel: core.ChannelAPI}
}
