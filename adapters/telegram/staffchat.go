package telegram

import (
	"context"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
)

// onStaffMessage handles the staff chat: a linked staff user's Telegram reply to a post of
// ticket N answers N as staff. Everything else there is the staff's own talk.
func (g *Bot) onStaffMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
	if m.ReplyTo == nil {
		return nil
	}
	chat, from := m.Chat.ID, m.Sender.ID
	ticket, err := g.store.TelegramMessageTicket(ctx, chat, int64(m.ReplyTo.ID))
	if err != nil || ticket == 0 {
		return err
	}
	user, err := g.user(ctx, from)
	if err != nil {
		return err
	}
	// The staff user's language, else the desk's: a group chat tells nothing of a stranger.
	r.language = g.language(user, nil)
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
