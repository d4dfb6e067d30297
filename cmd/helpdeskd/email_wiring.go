package main

import (
	"context"

	"helpdeskd/adapters/imap"
	"helpdeskd/adapters/mail"
	"helpdeskd/adapters/metrics"
	"helpdeskd/adapters/smtp"
	"helpdeskd/core"
	"helpdeskd/gateway"
)

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
		Logger: m.Logger.With("part", "smtp"),
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
		Logger: m.Logger.With("part", "pipeline"),
	})
	handler := &mailHandler{
		blobs:    m.DB.Blobs(),
		pipeline: pipeline,
		parse:    mail.Options{MaxAttachmentBytes: m.Config.Attachments.MaxBytes},
		metrics:  m.Metrics,
		log:      m.Logger.With("part", "imap"),
	}
	m.Poller = imap.New(m.imapOptions(), handler)
	m.parts = append(m.parts, m.Poller.Run)
	return nil
}

func (m *Main) imapOptions() imap.Options {
	c := m.Config.Email.IMAP
	return imap.Options{
		Host: c.Host, Port: c.Port, Security: c.Security,
		Username: c.Username, Password: c.Password,
		Mailbox: c.Mailbox, ProcessedMailbox: c.ProcessedMailbox, FailedMailbox: c.FailedMailbox,
		IDLE: c.IDLE, PollInterval: c.PollInterval.D(),
		Logger:  m.Logger.With("part", "imap"),
		OnState: func(up bool) { m.Metrics.SetConnected(metrics.ChannelIMAP, up) },
	}
}
