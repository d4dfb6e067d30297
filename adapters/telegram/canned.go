package telegram

import (
	"context"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
)

// /canned <name> in the staff chat: as a Telegram reply to a post of ticket N, a linked
// staff user sends the canned reply of that name on N, filled for them (core.Reply with
// CannedReplyID). It is applied once per update: the update's key is recorded with the reply
// (core.Source), so a redelivered update finds it done and is answered as then.

// sendCanned sends the canned reply name on ticket as user and says what happened.
func (g *Bot) sendCanned(ctx context.Context, id int64, m *tele.Message, ticket int64, user *core.User, name string, r *result) error {
	chat := m.Chat.ID
	answer := func(text string, ticket int64) {
		r.answers = append(r.answers, message{chat: chat, text: text, ticket: ticket, replyTo: m.ID})
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram}
	if strings.TrimSpace(name) == "" {
		return g.cannedUsage(ctx, chat, m.ID, actor, r)
	}
	c, err := g.svc.CannedReplyByName(ctx, actor, name)
	if core.ErrorCode(err) == core.ENOTFOUND {
		names, err := g.cannedNames(ctx, actor)
		if err != nil {
			return err
		}
		if names == "" {
			answer(r.t("bot.canned_none"), 0)
		} else {
			answer(r.tf("bot.canned_unknown", name, names), 0)
		}
		return nil
	} else if err != nil {
		return err
	}
	msg, err := g.svc.StaffReply(ctx, actor, ticket, core.NewReply{CannedReplyID: c.ID,
		Source: &core.Source{Channel: core.ChannelTelegram, Key: key(id)}})
	switch code := core.ErrorCode(err); {
	case err == nil:
		answer(r.tf("bot.canned_sent", c.Name, ticket, msg.Body), ticket)
	case core.IsDuplicate(err):
		// Applied before a crash, not finished: the text was sent then; say so again.
		answer(r.tf("bot.added", ticket), ticket)
	case code == core.EINVALID, code == core.ECONFLICT, code == core.ENOTFOUND, code == core.EFORBIDDEN:
		// A closed ticket, say: core's words, as the pipeline's reasons are.
		answer(r.tf("bot.not_added", core.ErrorMessage(err)), 0)
	default:
		return err
	}
	return nil
}

// cannedUsage answers /canned that names nothing, or names no ticket: how to use it, and
// the names there are.
func (g *Bot) cannedUsage(ctx context.Context, chat int64, replyTo int, actor core.Actor, r *result) error {
	names, err := g.cannedNames(ctx, actor)
	if err != nil {
		return err
	}
	text := r.t("bot.canned_none")
	if names != "" {
		text = r.tf("bot.canned_usage", names)
	}
	r.answers = append(r.answers, message{chat: chat, text: text, replyTo: replyTo})
	return nil
}

// cannedNames lists the canned replies' names, "" if there are none.
func (g *Bot) cannedNames(ctx context.Context, actor core.Actor) (string, error) {
	list, err := g.svc.CannedReplies(ctx, actor)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(list))
	for _, c := range list {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", "), nil
}
