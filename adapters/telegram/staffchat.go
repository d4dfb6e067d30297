package telegram

import (
	"context"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
)

// onStaffMessage handles the staff chat: a linked staff user's Telegram reply to a post of
// ticket N answers N as staff, or with /canned <name> sends that canned reply on N.
// Everything else there is the staff's own talk.
func (g *Bot) onStaffMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
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
	switch {
	case user == nil:
		answer(r.tf("bot.staff_not_linked", ticket))
		return nil
	case !user.Role.IsStaff():
		answer(r.tf("bot.staff_only", ticket))
		return nil
	}
	if cmd == "canned" {
		return g.sendCanned(ctx, id, m, ticket, user, arg, r)
	}
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
		return nil
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram}
	return g.ingest(ctx, chat, from, actor, draft{ticket: ticket, text: text, files: files, key: key(id), replyTo: m.ID}, r)
}
