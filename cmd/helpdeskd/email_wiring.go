package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/helpdeskd/helpdeskd/adapters/imap"
	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/adapters/metrics"
	"github.com/helpdeskd/helpdeskd/adapters/smtp"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// smtpConnections is how many SMTP connections carry the email lane at once: a relay
// spends most of a mail's time on its own fsync, so a few in parallel multiply the rate,
// and few enough that no provider takes them for abuse.
const smtpConnections = 4

// openEmail sets up the email gateway when email.enabled: the SMTP sender for the
// dispatcher, the inbound pipeline and the IMAP poller.
func (m *Main) openEmail(ctx context.Context) error {
	cfg := m.Config.Email
	if !cfg.Enabled {
		return nil
	}
	sender, err := smtp.New(smtp.Options{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Security: cfg.SMTP.Security,
		Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		From: cfg.Address, FromName: cfg.Name,
		ThreadSecret: m.replySecret(),
		Connections:  smtpConnections,
		Logger:       m.Logger.With("part", "smtp"),
	})
	if err != nil {
		return err
	}
	m.closers = append(m.closers, sender.Close)
	m.Senders[core.ChannelEmail] = sender

	pipeline := gateway.NewPipeline(m.Service, m.DB, gateway.PipelineOptions{
		Address: cfg.Address,
		Secret:  m.replySecret(),
		TopicFor: func(addr string) (core.Topic, bool) {
			t, ok := cfg.TopicFor(addr)
			return core.Topic(t), ok
		},
		RequireAuthenticatedStaff: cfg.RequireAuthenticatedStaff,
		Logger:                    m.Logger.With("part", "pipeline"),
	})
	parse := mail.Options{MaxAttachmentBytes: m.Config.Attachments.MaxBytes, ThreadSecret: m.replySecret(),
		Auth: mail.Authentication{TrustedAuthservIDs: cfg.TrustedAuthservIDs, VerifyDKIM: cfg.VerifyDKIM, LookupTXT: m.LookupTXT}}
	raws := m.DB.Blobs()
	if r, ok := m.DB.(interface{ RawMails() core.Blobs }); ok {
		raws = r.RawMails() // SQLite keeps a small raw mail in its inbound record's transaction
	}
	handler := mailHandler{raw: &gateway.RawMail{
		Blobs:    raws,
		Pipeline: pipeline,
		Parse: func(raw io.ReaderAt, size int64, stage gateway.StageFunc) (gateway.Inbound, error) {
			opts := parse
			opts.Stage = stage
			return mail.ParseReader(raw, size, opts)
		},
		Count:  m.Metrics.InboundMail,
		Logger: m.Logger.With("part", "imap"),
	}}
	opts := imapOptions(m.Config, m.Logger)
	// The SQLite store makes this directory for its blobs; on Postgres nothing else does.
	if err := os.MkdirAll(opts.TempDir, 0o700); err != nil {
		return fmt.Errorf("create the directory for fetched mails %s (database.attachments_dir): %w", opts.TempDir, err)
	}
	opts.OnState = func(up bool) { m.Metrics.SetConnected(metrics.ChannelIMAP, up) }
	m.Poller = imap.New(opts, handler)
	m.parts = append(m.parts, m.singleton("imap:"+m.Config.Email.IMAP.Mailbox, m.Poller.Run))
	return nil
}

// ingestWorkers is how many mails are handled at once.
const ingestWorkers = 8

func imapOptions(cfg config.Config, logger *slog.Logger) imap.Options {
	c := cfg.Email.IMAP
	return imap.Options{
		Host: c.Host, Port: c.Port, Security: c.Security,
		Username: c.Username, Password: c.Password,
		Mailbox: c.Mailbox, ProcessedMailbox: c.ProcessedMailbox, FailedMailbox: c.FailedMailbox,
		IDLE: c.IDLE, PollInterval: c.PollInterval.D(),
		MaxMessageBytes: maxRawBytes,
		// Mails are independent (each is deduplicated on its own), so handling several at
		// once is safe, and their commits share the writer's fsync.
		Workers: ingestWorkers,
		// Fetched mails wait on the blobs' disk: a tmpfs /tmp would hold them in memory.
		TempDir: filepath.Join(cfg.Database.AttachmentsPath(), "tmp"),
		Logger:  logger.With("part", "imap"),
	}
}

// reprocessMail moves every mail of the failed mailbox back to the inbound mailbox, where the
// running daemon picks them up again (after a fix of whatever failed them).
func reprocessMail(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	if !cfg.Email.Enabled {
		return errors.New("email is not enabled (email.enabled): there is no mailbox to reprocess")
	}
	logger := newLogger(cfg.Log, stderr)
	n, err := imap.New(imapOptions(cfg, logger), nil).Reprocess(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d mails moved from %s back to %s\n", n, cfg.Email.IMAP.FailedMailbox, cfg.Email.IMAP.Mailbox)
	return nil
}
