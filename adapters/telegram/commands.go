package telegram

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// The bot's commands: /start with a link code, /new, /tickets, /ticket N, /close N,
// /cancel, /unlink, /help.

// command splits "/cmd@bot arg" into "cmd" and "arg"; "" when text is no command.
func command(text string) (string, string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	head, arg, _ := strings.Cut(text, " ")
	head, _, _ = strings.Cut(head[1:], "@")
	return strings.ToLower(head), strings.TrimSpace(arg)
}

// withHelp is text followed by the help (the commands stay English; what they do is in
// r's language).
func withHelp(r *result, text string) string { return text + "\n\n" + r.t("bot.help") }

func (g *Bot) start(ctx context.Context, chat, from int64, user *core.User, code string, r *result) error {
	if code == "" {
		if user != nil {
			r.say(chat, withHelp(r, r.tf("bot.start_linked", user.Name, user.Email)))
		} else {
			r.say(chat, g.explain(r))
		}
		return nil
	}
	u, err := g.svc.LinkTelegram(ctx, code, from)
	switch {
	case err == nil:
		r.setDialogue(from, nil)
		r.language = g.language(u, nil) // linked now: the user's own language from here on
		r.say(chat, withHelp(r, r.tf("bot.linked_now", u.Name, u.Email)))
	case core.ErrorCode(err) == core.ENOTFOUND && user != nil:
		r.say(chat, withHelp(r, r.tf("bot.already_linked", user.Email)))
	case core.ErrorCode(err) == core.ENOTFOUND:
		// The one way a code is not found: unknown, used or expired. Said in the words of
		// the catalogue, since this is most often someone's very first message to the bot.
		r.say(chat, r.t("bot.link_code_invalid"))
	case core.ErrorCode(err) == core.EINVALID:
		r.say(chat, core.ErrorMessage(err))
	default:
		return err
	}
	return nil
}

func (g *Bot) command(ctx context.Context, chat, from int64, actor core.Actor, cmd, arg string, r *result) error {
	switch cmd {
	case "help":
		r.say(chat, r.t("bot.help"))
	case "cancel":
		r.setDialogue(from, nil)
		r.say(chat, r.t("bot.cancelled"))
	case "unlink":
		if _, err := g.svc.UnlinkTelegram(ctx, from); err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		r.setDialogue(from, nil)
		r.say(chat, r.t("bot.unlinked"))
	case "new":
		if arg == "" {
			r.setDialogue(from, &dialogue{Step: stepTopic})
			r.answers = append(r.answers, message{chat: chat, text: r.t("bot.new_topic"), buttons: topicButtons(r)})
			return nil
		}
		subject, problem := checkSubject(arg)
		if problem != "" {
			r.say(chat, r.subjectProblem(arg, problem))
			return nil
		}
		r.setDialogue(from, &dialogue{Step: stepDescription, Subject: subject})
		r.say(chat, r.tf("bot.new_subject", subject))
	case "tickets":
		open, err := g.svc.OpenTickets(ctx, actor, 20)
		if err != nil {
			return err
		}
		if len(open) == 0 {
			r.say(chat, r.t("bot.no_tickets"))
			return nil
		}
		var b strings.Builder
		b.WriteString(r.t("bot.tickets_head") + "\n")
		for _, t := range open {
			fmt.Fprintf(&b, "#%d %s — %s\n", t.ID, t.Subject, lang.StatusLabel(r.language, int(t.Status)))
		}
		b.WriteString("\n" + r.t("bot.tickets_foot"))
		r.say(chat, b.String())
	case "ticket":
		n, ok := ticketArg(arg)
		if !ok {
			r.say(chat, r.t("bot.usage_ticket"))
			return nil
		}
		return g.showTicket(ctx, chat, actor, n, r)
	case "close":
		n, ok := ticketArg(arg)
		if !ok {
			r.say(chat, r.t("bot.usage_close"))
			return nil
		}
		return g.closeTicket(ctx, chat, actor, n, r)
	default:
		r.say(chat, withHelp(r, r.tf("bot.unknown_command", cmd)))
	}
	return nil
}

func ticketArg(arg string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(arg), "#"), 10, 64)
	return n, err == nil && n > 0
}

func (r *result) notFound(n int64) string { return r.tf("bot.not_found", n) }

func ticketButtons(r *result, t *core.Ticket) [][]button {
	row := []button{{Text: r.t("bot.button_reply"), Data: "reply:" + itoa(t.ID)}}
	if t.Status != core.StatusClosed {
		row = append(row, button{Text: r.t("bot.button_close"), Data: "close:" + itoa(t.ID)})
	}
	return [][]button{row}
}

func topicButtons(r *result) [][]button {
	var rows [][]button
	for i, t := range core.Topics {
		if i%2 == 0 {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], button{Text: lang.TopicLabel(r.language, int(t)), Data: "topic:" + strconv.Itoa(int(t))})
	}
	return append(rows, []button{{Text: r.t("bot.button_cancel"), Data: "cancel"}})
}

// showTicket answers /ticket N with the ticket and its last messages.
func (g *Bot) showTicket(ctx context.Context, chat int64, actor core.Actor, n int64, r *result) error {
	d, err := g.svc.GetTicket(ctx, actor, core.TicketRef{ID: n})
	if core.ErrorCode(err) == core.ENOTFOUND {
		r.say(chat, r.notFound(n))
		return nil
	} else if err != nil {
		return err
	}
	t := d.Ticket
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s\n%s\n%s\n", t.ID, t.Subject,
		r.tf("bot.ticket_fields", lang.StatusLabel(r.language, int(t.Status)), lang.TopicLabel(r.language, int(t.Topic))),
		r.tf("bot.ticket_opened", t.CreatedAt.Format("2006-01-02 15:04 UTC")))
	msgs := d.Messages
	if len(msgs) > 5 {
		fmt.Fprintf(&b, "\n%s\n", r.tf("bot.ticket_earlier", len(msgs)-5))
		msgs = msgs[len(msgs)-5:]
	}
	for _, m := range msgs {
		who := r.t("bot.who_you")
		switch {
		case m.Author == core.AuthorStaff:
			who = r.t("bot.who_support")
		case m.AuthorUserID != actor.User.ID:
			who = r.t("bot.who_customer")
		}
		fmt.Fprintf(&b, "\n— %s, %s:\n%s\n", who, m.CreatedAt.Format("2006-01-02 15:04"), cut(m.Body, 1000))
		for _, a := range m.Attachments {
			b.WriteString(r.tf("bot.ticket_attachment", a.FileName, core.HumanBytes(a.Size)) + "\n")
		}
	}
	r.answers = append(r.answers, message{chat: chat, text: b.String(), ticket: t.ID, buttons: ticketButtons(r, &t)})
	return nil
}

// visibleTicket returns ticket n if the actor may see it; otherwise it tells the chat so and
// returns nil (with the error, when it is not a plain "not yours").
func (g *Bot) visibleTicket(ctx context.Context, chat int64, actor core.Actor, n int64, r *result) (*core.Ticket, error) {
	t, err := g.svc.VisibleTicket(ctx, actor, n)
	if core.ErrorCode(err) == core.ENOTFOUND {
		r.say(chat, r.notFound(n))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (g *Bot) closeTicket(ctx context.Context, chat int64, actor core.Actor, n int64, r *result) error {
	t, err := g.visibleTicket(ctx, chat, actor, n, r)
	if t == nil {
		return err
	}
	if t.Status == core.StatusClosed {
		r.answers = append(r.answers, message{chat: chat, text: r.tf("bot.already_closed", n), ticket: n})
		return nil
	}
	if _, err := g.svc.Close(ctx, actor, core.TicketRef{ID: n}); err != nil {
		if core.ErrorCode(err) == core.EINTERNAL || core.ErrorCode(err) == core.EUNAVAILABLE {
			return err
		}
		r.say(chat, r.tf("bot.close_failed", n, core.ErrorMessage(err)))
		return nil
	}
	r.answers = append(r.answers, message{chat: chat, text: r.tf("bot.closed", n), ticket: n})
	return nil
}
