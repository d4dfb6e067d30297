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
		StaffTopics: topicsMode(cfg.StaffTopics),
		DeskName:    name,
		// The bot speaks the user's language, else the desk's.
		DefaultLanguage: m.Config.Notify.DefaultLanguage,
		Logger:          m.Logger.With("part", "telegram"),
		OnState:         func(up bool) { m.Metrics.SetConnected("telegram", up) },
		OnAPIState:      m.telegramAPIState,
	})
	if err != nil {
		return err
	}
	m.telegram = g
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

// telegramAPIState reports a change of the Bot API's state: the metric, and a log line an
// operator can find ("Telegram is throttling the bot until …").
func (m *Main) telegramAPIState(st telegram.APIState) {
	m.Metrics.SetTelegramAPIState(st.State)
	log := m.Logger.With("part", "telegram")
	switch st.State {
	case telegram.APIThrottled:
		log.Warn("telegram is throttling the bot: sends wait", "retry_until", st.RetryUntil, "err", st.LastError)
	case telegram.APIFailing:
		log.Warn("telegram api failing: sends are retried", "err", st.LastError)
	default:
		log.Info("telegram api answering again")
	}
}

// readyData is what /readyz adds about the channels: the Bot API's state when Telegram is
// on.
func (m *Main) readyData() map[string]any {
	if m.telegram == nil {
		return nil
	}
	st := m.telegram.APIState()
	t := map[string]any{"state": st.State, "since": st.Since.UTC().Format(time.RFC3339)}
	if st.State == telegram.APIThrottled {
		t["retryUntil"] = st.RetryUntil.UTC().Format(time.RFC3339)
	}
	if st.LastError != "" {
		t["lastError"] = st.LastError
	}
	return map[string]any{"telegram": t}
}

// topicsMode is [telegram] staff_topics as the bot takes it: true forces topics, false
// leaves it to whether the staff chat is a forum.
func topicsMode(on bool) telegram.TopicsMode {
	if on {
		return telegram.TopicsOn
	}
	return telegram.TopicsAuto
}
