// Package metrics exposes helpdeskd's Prometheus metrics: HTTP latency by route, tickets
// created by channel, inbound mail results, outbox depth and notification failures, and the
// connection state of the IMAP and Telegram channels, next to the standard Go and process
// collectors.
//
// Every *Metrics owns its registry, so nothing is global and tests can make as many as they
// like. The package knows core's small Observer port and nothing else of the domain; it never
// sees a raw request path or any other unbounded value as a label.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/helpdeskd/helpdeskd/core"
)

// Namespace prefixes every helpdeskd metric.
const Namespace = "helpdeskd"

// Results of one inbound mail, the values of helpdeskd_inbound_mails_total's result label.
const (
	MailProcessed = "processed" // turned into a ticket or a reply
	MailRejected  = "rejected"  // kept as rejected (unknown sender …)
	MailFailed    = "failed"    // could not be processed; moved to the failed mailbox
)

// Channels whose connection state is reported by helpdeskd_channel_connected.
const (
	ChannelIMAP     = "imap"
	ChannelTelegram = "telegram"
)

// UnmatchedRoute is the route label of requests that matched no route.
const UnmatchedRoute = "unmatched"

// Metrics holds helpdeskd's collectors and the registry they are registered with.
// It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpDuration        *prometheus.HistogramVec
	ticketsCreated      *prometheus.CounterVec
	inboundMails        *prometheus.CounterVec
	notificationsFailed *prometheus.CounterVec
	connected           *prometheus.GaugeVec
	leaseHeld           *prometheus.GaugeVec
	slaBreaches         *prometheus.CounterVec
	telegramAPIState    *prometheus.GaugeVec

	outboxOnce  sync.Once
	outboxDepth atomic.Pointer[func() float64]
}

var _ core.Observer = (*Metrics)(nil)

// New returns Metrics registered with a new registry of their own, with the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "http_request_duration_seconds",
			Help:      "Latency of HTTP requests by route pattern, method and status code.",
			Buckets:   prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		ticketsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "tickets_created_total",
			Help:      "Tickets created, by the channel they were opened on.",
		}, []string{"channel"}),
		inboundMails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "inbound_mails_total",
			Help:      "Inbound mails by result: processed, rejected or failed.",
		}, []string{"result"}),
		notificationsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "notifications_failed_total",
			Help:      "Notifications marked failed after their last delivery attempt, by channel.",
		}, []string{"channel"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "channel_connected",
			Help:      "1 while a channel (imap, telegram) is connected, 0 while it is retrying.",
		}, []string{"channel"}),
		leaseHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "lease_held",
			Help:      "1 on the node that holds a lease (imap:MAILBOX, telegram) and runs its job, 0 on the others.",
		}, []string{"lease"}),
	}
	m.slaBreaches = newSLABreaches()
	m.telegramAPIState = newTelegramAPIState()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpDuration, m.ticketsCreated, m.inboundMails, m.notificationsFailed, m.connected, m.leaseHeld,
		m.slaBreaches, m.telegramAPIState,
	)
	// Known label values start at zero so that rate() works from the first scrape.
	for _, ch := range []core.Channel{core.ChannelAPI, core.ChannelEmail, core.ChannelTelegram} {
		m.ticketsCreated.WithLabelValues(string(ch))
	}
	for _, ch := range []core.Channel{core.ChannelEmail, core.ChannelTelegram} {
		m.notificationsFailed.WithLabelValues(string(ch))
	}
	for _, res := range []string{MailProcessed, MailRejected, MailFailed} {
		m.inboundMails.WithLabelValues(res)
	}
	return m
}

// Registry returns the registry, for callers that add collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format, for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveHTTP records one HTTP request. route must be a route pattern
// ("/api/Ticket/{id}") or UnmatchedRoute, never a raw path. Methods other than the
// standard ones are counted as "OTHER" so that clients cannot grow the label set.
func (m *Metrics) ObserveHTTP(route, method string, code int, d time.Duration) {
	if route == "" {
		route = UnmatchedRoute
	}
	m.httpDuration.WithLabelValues(route, normalizeMethod(method), strconv.Itoa(code)).Observe(d.Seconds())
}

func normalizeMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// TicketCreated counts a ticket opened on channel ch; it makes *Metrics a core.Observer.
func (m *Metrics) TicketCreated(ch core.Channel) {
	m.ticketsCreated.WithLabelValues(string(ch)).Inc()
}

// InboundMail counts one inbound mail by its result: MailProcessed, MailRejected or
// MailFailed. Any other value is ignored, so the label set stays fixed.
func (m *Metrics) InboundMail(result string) {
	switch result {
	case MailProcessed, MailRejected, MailFailed:
		m.inboundMails.WithLabelValues(result).Inc()
	}
}

// NotificationFailed counts a notification given up on after its last attempt.
func (m *Metrics) NotificationFailed(ch core.Channel) {
	m.notificationsFailed.WithLabelValues(string(ch)).Inc()
}

// SetConnected reports whether a channel (ChannelIMAP, ChannelTelegram) is connected.
func (m *Metrics) SetConnected(channel string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.connected.WithLabelValues(channel).Set(v)
}

// SetLeaseHeld reports whether this node holds a lease (gateway.RunLeader).
func (m *Metrics) SetLeaseHeld(lease string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	m.leaseHeld.WithLabelValues(lease).Set(v)
}

// SetOutboxDepthFunc makes helpdeskd_outbox_depth report what fn returns at each scrape
// (the number of notifications waiting for delivery). fn must be quick and safe for
// concurrent use. The gauge appears with the first call; a later call replaces fn.
func (m *Metrics) SetOutboxDepthFunc(fn func() float64) {
	m.outboxDepth.Store(&fn)
	m.outboxOnce.Do(func() {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "outbox_depth",
			Help:      "Notifications in the outbox waiting for delivery.",
		}, func() float64 {
			if f := m.outboxDepth.Load(); f != nil && *f != nil {
				return (*f)()
			}
			return 0
		}))
	})
}
