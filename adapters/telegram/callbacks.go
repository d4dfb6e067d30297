package telegram

import (
	"context"
	"strconv"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// Taps on the bot's buttons.

func (g *Bot) onCallback(ctx context.Context, id int64, cb *tele.Callback, r *result) error {
	r.callback = cb.ID
	if cb.Sender == nil || cb.Message == nil || cb.Message.Chat == nil {
		return nil
	}
	chat, from := cb.Message.Chat.ID, cb.Sender.ID
	staffChat := g.opts.StaffChatID != 0 && chat == g.opts.StaffChatID
	if cb.Message.Chat.Type != tele.ChatPrivate && !staffChat {
		return nil
	}
	user, err := g.user(ctx, from)
	if err != nil {
		return err
	}
	// In the staff chat the desk speaks its own language to someone it does not know.
	sender := cb.Sender
	if staffChat {
		sender = nil
	}
	r.language = g.language(user, sender)
	if user == nil {
		r.callbackText = r.t("bot.link_first")
		if !staffChat {
			r.say(chat, g.explain(r))
		}
		return nil
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram, InStaffChat: staffChat}
	action, arg, _ := strings.Cut(cb.Data, ":")
	n, _ := strconv.ParseInt(arg, 10, 64)
	switch action {
	case "reply":
		t, err := g.visibleTicket(ctx, chat, actor, n, r)
		if t == nil {
			return err
		}
		if !staffChat {
			r.setDialogue(from, &dialogue{Step: stepReply, Ticket: t.ID})
		}
		r.answers = append(r.answers, message{chat: chat, ticket: t.ID, forceReply: true,
			text: r.tf("bot.reply_prompt", t.ID, cut(t.Subject, 60))})
		return nil
	case "close":
		return g.closeTicket(ctx, chat, actor, n, r)
	}
	if staffChat {
		r.callbackText = r.t("bot.private_only")
		return nil
	}
	d, err := g.loadDialogue(ctx, from)
	if err != nil {
		return err
	}
	expired := func() error {
		r.callbackText = r.t("bot.expired_short")
		r.say(chat, r.t("bot.expired"))
		return nil
	}
	switch action {
	case "cancel":
		r.setDialogue(from, nil)
		r.say(chat, r.t("bot.cancelled"))
	case "topic":
		topic := core.Topic(n)
		if d == nil || d.Step != stepTopic || !topic.Valid() || arg == "" {
			return expired()
		}
		d.Topic, d.Step = int(topic), stepSubject
		r.setDialogue(from, d)
		r.say(chat, r.tf("bot.topic_set", lang.TopicLabel(r.language, int(topic)), core.MaxSubjectChars))
	case "new", "pick":
		if d == nil || d.Step != stepChoose || (action == "pick" && n <= 0) {
			return expired()
		}
		r.setDialogue(from, nil)
		dr := draft{text: d.Text, files: d.Files, key: d.Key}
		if action == "pick" {
			dr.ticket = n
		} else {
			dr.subject = subjectOf(d.Text, d.Files)
		}
		return g.ingest(ctx, chat, from, actor, dr, r)
	default:
		r.callbackText = r.t("bot.button_invalid")
	}
	return nil
}
