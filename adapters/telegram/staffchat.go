package telegram

import (
	"context"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
)

// onStaffMessage handles the staff chat: whatever is written in a ticket's forum topic
// (onTopicMessage); elsewhere, a linked staff user's Telegram reply to a post of ticket N
// answers N as staff, or with /canned <name> sends that canned reply on N. Everything else
// there is the staff's own talk.
func (g *Bot) onStaffMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
	if thread := topicOf(m); thread != 0 {
		// In a forum every message of a topic is a "reply" to the topic's first message:
		// the topic, not the reply, says which ticket it is.
		ticket, err := g.store.TelegramTopicTicket(ctx, m.Chat.ID, thread)
		if err != nil {
			return err
		}
		if ticket != 0 {
			return g.onTopicMessage(ctx, id, m, ticket, r)
		}
	}
	cmd, arg := command(m.Text)
	if m.ReplyTo == nil && cmd != "canned" {
		return nil
	}
	chat, from := m.Chat.ID, m.Sender.ID
	var ticket int64
	if m.ReplyTo != nil {
		var err error
		if ticket, err = g.store.TelegramMessageTicket(ctx, chat, int64(m.ReplyTo.ID)); err != nil {
			return err
		}
	}
	if ticket == 0 && cmd != "canned" {
		return nil
	}
	user, err := g.user(ctx, from)
	if err != nil {
		return err
	}
	// The staff user's language, else the desk's: a group chat tells nothing of a stranger.
	r.language = g.language(user, nil)
	if ticket == 0 {
		// /canned on no ticket's post: how to use it, told to staff only.
		if user != nil && user.Role.IsStaff() {
			return g.cannedUsage(ctx, chat, m.ID, core.Actor{User: user, Channel: core.ChannelTelegram}, r)
		}
		return nil
	}
	answer := func(text string) {
		r.answers = append(r.answers, message{chat: chat, text: text, replyTo: m.ID})
	}
	if !isStaff(user, ticket, answer, r) {
		return nil
	}
	if cmd == "canned" {
		return g.sendCanned(ctx, id, m, ticket, user, arg, r)
	}
	return g.staffReply(ctx, id, m, ticket, user, answer, r)
}

// isStaff reports whether user may answer ticket from the staff chat; when not, the chat
// is told why.
func isStaff(user *core.User, ticket int64, answer func(string), r *result) bool {
	switch {
	case user == nil:
		answer(r.tf("bot.staff_not_linked", ticket))
		return false
	case !user.Role.IsStaff():
		answer(r.tf("bot.staff_only", ticket))
		return false
	}
	return true
}

// staffReply adds what staff user wrote in m (text, caption, a photo or a document) to
// ticket as a staff reply, once per update id.
func (g *Bot) staffReply(ctx context.Context, id int64, m *tele.Message, ticket int64, user *core.User, answer func(string), r *result) error {
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = strings.TrimSpace(m.Caption)
	}
	files, refusal := g.filesOf(m, r)
	if refusal != "" {
		answer(refusal)
		return nil
	}
	if text == "" && len(files) == 0 {
		return nil // a sticker, a service message
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram, InStaffChat: true}
	return g.ingest(ctx, m.Chat.ID, m.Sender.ID, actor, draft{ticket: ticket, text: text, files: files, key: key(id), replyTo: m.ID}, r)
}
