package main

import (
	"context"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// openTelegram sets up the Telegram gateway when telegram.enabled: its Sender for the
// dispatcher, and its poller, which applies updates through the inbound pipeline.
func (m *Main) openTelegram(ctx context.Context) error {
	cfg := m.Config.Telegram
	if !cfg.Enabled {
		return nil
	}
	pipe := gateway.NewPipeline(m.Service, m.DB, gateway.PipelineOptions{
		Address: m.Config.Email.Address,
		Logger:  m.Logger.With("part", "telegram"),
	})
	name := m.Config.Email.Name
	if name == "" {
		name = "Support"
	}
	g, err := telegram.New(m.Service, pipe, m.DB, telegram.Options{
		Token:       cfg.Token,
		APIURL:      cfg.APIURL,
		StaffChatID: cfg.StaffChatID,
		DeskName:    name,
		// The bot speaks the user's language, else the desk's.
		DefaultLanguage: m.Config.Notify.DefaultLanguage,
		Logger:          m.Logger.With("part", "telegram"),
		OnState:         func(up bool) { m.Metrics.SetConnected("telegram", up) },
	})
	if err != nil {
		return err
	}
	m.Senders[core.ChannelTelegram] = g.Sender()
	m.parts = append(m.parts, m.singleton("telegram", g.Run))
	m.closers = append(m.closers, g.Close)
	return nil
}

// linkTelegram is the API's POST /api/Telegram/Link: nil (503) when Telegram is off.
func (m *Main) linkTelegram() func(ctx context.Context, u *core.User) (string, time.Time, error) {
	if !m.Config.Telegram.Enabled {
		return nil
	}
	return func(ctx context.Context, u *core.User) (string, time.Time, error) {
		return m.Service.CreateTelegramLink(ctx, core.Actor{User: u, Channel: core.ChannelAPI})
	}
}
