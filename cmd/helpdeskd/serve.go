package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/adapters/imap"
	"github.com/helpdeskd/helpdeskd/adapters/metrics"
	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/adapters/webhook"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// Main is the running daemon: every part, opened in order and closed in reverse.
type Main struct {
	Config  config.Config
	Logger  *slog.Logger
	DB      deskStore
	Service *core.Service
	Metrics *metrics.Metrics
	// Senders deliver notifications, one per enabled channel; Dispatcher drives them.
	Senders    map[core.Channel]gateway.Sender
	Dispatcher *gateway.Dispatcher
	// Webhooks delivers the change log to the panels' webhooks.
	Webhooks *webhook.Dispatcher
	// telegram is the bot when Telegram is enabled (its API's state for /readyz).
	telegram *telegram.Bot
	// Poller reads the support mailbox when email is enabled.
	Poller *imap.Poller
	// LookupTXT answers the DNS queries of DKIM verification (email.verify_dkim); nil means
	// the system resolver. Set before Open.
	LookupTXT func(domain string) ([]string, error)
	// node names this daemon as a lease holder; leases are the leases it holds.
	node   string
	leases leaseSet
	// store is DB with what differs by driver (its name for logs, its blob sweep).
	store *openedStore
	// parts are the channel loops (IMAP poller, Telegram poller) run beside the server.
	parts []func(context.Context) error
	// closers release what the channels opened, in reverse order, before the database.
	closers []func() error

	ln     net.Listener
	server *http.Server
	// metricsLn serves /metrics when server.metrics_listen moves it off ln; nil otherwise.
	metricsLn net.Listener
}

// NewMain returns a daemon for cfg that logs to logger.
func NewMain(cfg config.Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Open opens the database (applying migrations), builds the service and binds the HTTP
// listener, so that Addr is known before Run.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	for _, w := range cfg.Warnings() {
		m.Logger.Warn("configuration warning", "key", w.Key, "warning", w.Msg)
	}
	st, err := openStore(ctx, cfg.Database)
	if err != nil {
		return err
	}
	db := st.db
	m.DB, m.store = db, st
	m.node = nodeName()
	m.Metrics = metrics.New()
	m.Metrics.SetOutboxDepthFunc(func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := db.OutboxDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	m.Service = core.NewService(db, db.Blobs(), nil, core.Options{
		MaxAttachmentBytes:   cfg.Attachments.MaxBytes,
		StaffReplyInProgress: cfg.Tickets.StaffReplyInProgress,
		AutoClose:            autoCloseOptions(cfg.Tickets),
		SLA:                  slaOptions(cfg.SLA, m.Logger),
		Notify: core.NotifyOptions{
			Email:       cfg.Email.Enabled,
			Telegram:    cfg.Telegram.Enabled,
			StaffEmails: cfg.Notify.StaffEmails,
			StaffChatID: cfg.Telegram.StaffChatID,
			// Whether the chat is a forum is the bot's to learn: it skips the posts
			// for a chat without topics.
			StaffThreads: cfg.Telegram.StaffChatID != 0,
		},
		Observer: m.Metrics,
	})
	m.Senders = map[core.Channel]gateway.Sender{}
	if err := m.openEmail(ctx); err != nil {
		return err
	}
	if err := m.openTelegram(ctx); err != nil {
		return err
	}
	render := gateway.RenderOptions{
		Address:         cfg.Email.Address,
		Name:            cfg.Email.Name,
		Secret:          m.replySecret(),
		TicketLink:      cfg.Panel.TicketLink,
		DefaultLanguage: cfg.Notify.DefaultLanguage,
		TemplatesDir:    cfg.Notify.TemplatesDir,
		Logger:          m.Logger.With("part", "templates"),
	}
	// A template override that does not parse stops the start, naming its file and line,
	// rather than failing each notification later.
	if err := render.LoadTemplates(); err != nil {
		return fmt.Errorf("notify.templates_dir: %w", err)
	}
	m.Dispatcher = gateway.NewDispatcher(db, db, m.Senders, nil, gateway.DispatcherOptions{
		Render:       render,
		MaxAttempts:  cfg.Notify.MaxAttempts,
		BaseDelay:    cfg.Notify.RetryDelay.D(),
		MaxDelay:     cfg.Notify.MaxRetryDelay.D(),
		StaffChat:    staffChat(cfg.Telegram.StaffChatID),
		EmailWorkers: smtpConnections,
		OnFailed:     m.Metrics.NotificationFailed,
		Logger:       m.Logger.With("part", "dispatcher"),
	})
	wh := cfg.Webhooks
	m.Webhooks = webhook.NewDispatcher(db, httpapi.WebhookPayload(m.Service, webhook.MaxPayloadBytes), m.Service, webhook.Options{
		RetryInitial:     wh.RetryInitial.D(),
		RetryMaxInterval: wh.RetryMaxInterval.D(),
		RetryFor:         wh.RetryFor.D(),
		Timeout:          wh.Timeout.D(),
		AllowPrivate:     wh.AllowPrivate,
		Logger:           m.Logger.With("part", "webhooks"),
	})
	// A commit that queued notifications or webhook deliveries wakes both: they leave at once.
	db.SetOnQueued(func() {
		m.Dispatcher.Kick()
		m.Webhooks.Kick()
	})
	m.parts = append(m.parts, m.Dispatcher.Run, m.Webhooks.Run)
	m.parts = append(m.parts, m.autoCloseParts()...)
	m.parts = append(m.parts, m.retentionParts()...)
	m.parts = append(m.parts, m.slaPart())
	handler := httpapi.New(m.Service, httpapi.Options{
		Logger:       m.Logger,
		Metrics:      m.Metrics,
		Ready:        db.Ping,
		Leases:       m.leases.list,
		ReadyData:    m.readyData,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		TelegramBot:  cfg.Telegram.BotUsername,
		LinkTelegram: m.linkTelegram(),
		RateLimit:    cfg.Server.RateLimitPerSecond,
		RateBurst:    cfg.Server.RateLimitBurst,
		// The API listener serves /metrics only when metrics are on and not moved elsewhere.
		HideMetrics:          !cfg.Server.Metrics || cfg.Server.MetricsListen != "",
		FailedAuthPerMinute:  cfg.Server.FailedAuthPerMinute,
		FailedAuthBurst:      cfg.Server.FailedAuthBurst,
		Preview:              render.Preview,
		WebhooksAllowPrivate: wh.AllowPrivate,
		WebhookKick:          m.Webhooks.Kick,
		Idempotency:          db,
	})
	m.ln, err = net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (server.listen): %w", cfg.Server.Listen, err)
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.Server.ReadTimeout.D(),
		WriteTimeout:      cfg.Server.WriteTimeout.D(),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	if err := m.openMetrics(); err != nil {
		return err
	}
	m.parts = append(m.parts, m.sweepBlobs, m.sweepIdempotency)
	return nil
}

// Addr returns the HTTP listener's address.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Run serves until ctx ends or a part fails, then lets in-flight requests finish within
// server.shutdown_timeout.
func (m *Main) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := m.server.Serve(m.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	for _, part := range m.parts {
		g.Go(func() error { return part(ctx) })
	}
	g.Go(func() error {
		<-ctx.Done()
		m.Logger.Info("shutting down", "timeout", m.Config.Server.ShutdownTimeout.D().String())
		sctx, cancel := context.WithTimeout(context.Background(), m.Config.Server.ShutdownTimeout.D())
		defer cancel()
		return m.server.Shutdown(sctx)
	})
	m.Logger.Info("helpdeskd running", "version", Version(), "listen", m.Addr(), "metrics_listen", m.MetricsAddr(), "database", m.store.where,
		"email", m.Config.Email.Enabled, "telegram", m.Config.Telegram.Enabled)
	return g.Wait()
}

// Close releases everything Open took, in reverse order.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Close())
	}
	if m.ln != nil {
		// Closed already by the server if it served; not if Open failed after binding.
		if err := m.ln.Close(); !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

func serve(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	logger := newLogger(cfg.Log, stderr)
	m := NewMain(cfg, logger)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	err := m.Run(ctx)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		logger.Info("stopped cleanly")
	}
	return err
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// staffChat is the staff chat as core queues its notifications' recipient; "" for none.
func staffChat(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// replySecret is the key of reply tokens, nil when they are off.
func (m *Main) replySecret() []byte {
	if !m.Config.Email.ReplyTokens || m.Config.Email.Secret == "" {
		return nil
	}
	return []byte(m.Config.Email.Secret)
}
