package telegram

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"helpdeskd/core"
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

const helpText = "What I can do:\n" +
	"/new – open a ticket (or /new <subject>)\n" +
	"/tickets – your open tickets\n" +
	"/ticket N – show ticket N\n" +
	"/close N – close ticket N\n" +
	"/cancel – stop what you started\n" +
	"/unlink – unlink this Telegram account\n\n" +
	"To answer a ticket, reply to any of its messages here (or tap Reply under it). " +
	"Photos and documents are added as attachments."

func (g *Gateway) start(ctx context.Context, chat, from int64, user *core.User, code string, r *result) error {
	if code == "" {
		if user != nil {
			r.say(chat, "Hello "+user.Name+", this Telegram account is linked to "+user.Email+".\n\n"+helpText)
		} else {
			r.say(chat, g.explain())
		}
		return nil
	}
	u, err := g.svc.LinkTelegram(ctx, code, from)
	switch {
	case err == nil:
		r.setDialogue(from, nil)
		r.say(chat, "Hello "+u.Name+", your Telegram account is now linked to "+u.Email+". "+
			"Ticket news will come here too.\n\n"+helpText)
	case core.ErrorCode(err) == core.ENOTFOUND && user != nil:
		r.say(chat, "This Telegram account is already linked to "+user.Email+".\n\n"+helpText)
	case core.ErrorCode(err) == core.ENOTFOUND || core.ErrorCode(err) == core.EINVALID:
		r.say(chat, core.ErrorMessage(err))
	default:
		return err
	}
	return nil
}

func (g *Gateway) command(ctx context.Context, chat, from int64, actor core.Actor, cmd, arg string, r *result) error {
	switch cmd {
	case "help":
		r.say(chat, helpText)
	case "cancel":
		r.setDialogue(from, nil)
		r.say(chat, "Cancelled. Nothing was sent.")
	case "unlink":
		if _, err := g.svc.UnlinkTelegram(ctx, from); err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		r.setDialogue(from, nil)
		r.say(chat, "This Telegram account is no longer linked. You can link it again from the customer panel.")
	case "new":
		if arg == "" {
			r.setDialogue(from, &dialogue{Step: stepTopic})
			r.answers = append(r.answers, message{chat: chat, text: "New ticket. What is it about?", buttons: topicButtons()})
			return nil
		}
		subject, problem := checkSubject(arg)
		if problem != "" {
			r.say(chat, problem)
			return nil
		}
		r.setDialogue(from, &dialogue{Step: stepDescription, Subject: subject})
		r.say(chat, "New ticket: "+subject+"\nNow describe the problem (text, a photo or a document).")
	case "tickets":
		open, err := g.svc.OpenTickets(ctx, actor, 20)
		if err != nil {
			return err
		}
		if len(open) == 0 {
			r.say(chat, "You have no open tickets. Send /new to open one.")
			return nil
		}
		var b strings.Builder
		b.WriteString("Your open tickets:\n")
		for _, t := range open {
			fmt.Fprintf(&b, "#%d %s — %s\n", t.ID, t.Subject, t.Status.Label())
		}
		b.WriteString("\nSend /ticket N to see one.")
		r.say(chat, b.String())
	case "ticket":
		n, ok := ticketArg(arg)
		if !ok {
			r.say(chat, "Usage: /ticket N, for example /ticket 42.")
			return nil
		}
		return g.showTicket(ctx, chat, actor, n, r)
	case "close":
		n, ok := ticketArg(arg)
		if !ok {
			r.say(chat, "Usage: /close N, for example /close 42.")
			return nil
		}
		return g.closeTicket(ctx, chat, actor, n, r)
	default:
		r.say(chat, "Unknown command /"+cmd+". Nothing was changed.\n\n"+helpText)
	}
	return nil
}

func ticketArg(arg string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(arg), "#"), 10, 64)
	return n, err == nil && n > 0
}

func notFound(n int64) string {
	return fmt.Sprintf("Ticket #%d was not found among your tickets. Nothing was changed.", n)
}

func ticketButtons(t *core.Ticket) [][]button {
	row := []button{{Text: "Reply", Data: "reply:" + itoa(t.ID)}}
	if t.Status != core.StatusClosed {
		row = append(row, button{Text: "Close", Data: "close:" + itoa(t.ID)})
	}
	return [][]button{row}
}

func topicButtons() [][]button {
	var rows [][]button
	for i, t := range core.Topics {
		if i%2 == 0 {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], button{Text: t.Label(), Data: "topic:" + strconv.Itoa(int(t))})
	}
	return append(rows, []button{{Text: "Cancel", Data: "cancel"}})
}

// showTicket answers /ticket N with the ticket and its last messages.
func (g *Gateway) showTicket(ctx context.Context, chat int64, actor core.Actor, n int64, r *result) error {
	d, err := g.svc.GetTicket(ctx, actor, core.TicketRef{ID: n})
	if core.ErrorCode(err) == core.ENOTFOUND {
		r.say(chat, notFound(n))
		return nil
	} else if err != nil {
		return err
	}
	t := d.Ticket
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s\nStatus: %s · Topic: %s\nOpened %s\n", t.ID, t.Subject, t.Status.Label(), t.Topic.Label(),
		t.CreatedAt.Format("2006-01-02 15:04 UTC"))
	msgs := d.Messages
	if len(msgs) > 5 {
		fmt.Fprintf(&b, "\n(%d earlier messages)\n", len(msgs)-5)
		msgs = msgs[len(msgs)-5:]
	}
	for _, m := range msgs {
		who := "You"
		switch {
		case m.Author == core.AuthorStaff:
			who = "Support"
		case m.AuthorUserID != actor.User.ID:
			who = "Customer"
		}
		fmt.Fprintf(&b, "\n— %s, %s:\n%s\n", who, m.CreatedAt.Format("2006-01-02 15:04"), cut(m.Body, 1000))
		for _, a := range m.Attachments {
			fmt.Fprintf(&b, "[attachment: %s, %s]\n", a.FileName, core.HumanBytes(a.Size))
		}
	}
	r.answers = append(r.answers, message{chat: chat, text: b.String(), ticket: t.ID, buttons: ticketButtons(&t)})
	return nil
}

func (g *Gateway) closeTicket(ctx context.Context, chat int64, actor core.Actor, n int64, r *result) error {
	t, err := g.svc.VisibleTicket(ctx, actor, n)
	if core.ErrorCode(err) == core.ENOTFOUND {
		r.say(chat, notFound(n))
		return nil
	} else if err != nil {
		return err
	}
	if t.Status == core.StatusClosed {
		r.answers = append(r.answers, message{chat: chat, text: fmt.Sprintf("Ticket #%d was already closed.", n), ticket: n})
		return nil
	}
	if _, err := g.svc.Close(ctx, actor, core.TicketRef{ID: n}); err != nil {
		if core.ErrorCode(err) == core.EINTERNAL || core.ErrorCode(err) == core.EUNAVAILABLE {
			return err
		}
		r.say(chat, fmt.Sprintf("Ticket #%d could not be closed: %s", n, core.ErrorMessage(err)))
		return nil
	}
	r.answers = append(r.answers, message{chat: chat, text: fmt.Sprintf("Ticket #%d is closed. A reply to it opens a new ticket.", n), ticket: n})
	return nil
}
