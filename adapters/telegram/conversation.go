package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	tele "gopkg.in/telebot.v3"

	"helpdeskd/core"
)

// Dialogue steps.
const (
	stepTopic       = "topic"       // /new: waiting for a topic button
	stepSubject     = "subject"     // /new: waiting for the subject
	stepDescription = "description" // /new: waiting for the description
	stepChoose      = "choose"      // plain message: new ticket or reply to which?
	stepReply       = "reply"       // Reply button: the next message answers Ticket
)

// dialogue is a conversation in progress with one user; it is stored as JSON in the
// transaction that finishes the update that changed it, so it survives a restart.
type dialogue struct {
	Step    string `json:"step"`
	Topic   int    `json:"topic,omitempty"`
	Subject string `json:"subject,omitempty"`
	Ticket  int64  `json:"ticket,omitempty"`
	// The message waiting for "new ticket or reply?" (stepChoose), with the key it is
	// applied under, so that a repeated choice applies it once.
	Text  string    `json:"text,omitempty"`
	Files []fileRef `json:"files,omitempty"`
	Key   string    `json:"key,omitempty"`
}

// fileRef is a photo or document as Telegram describes it, before download.
type fileRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	MIME string `json:"mime"`
	Size int64  `json:"size"`
}

// result is what handling one update leaves: the dialogue to store with the update, and
// the answers to send once that is committed.
type result struct {
	user     int64     // whose dialogue changes (0: none)
	dialogue *dialogue // the new one; nil ends it
	answers  []message
	// callback is the query to answer (it stops the button's spinner); callbackText a
	// short notice shown on it.
	callback     string
	callbackText string
}

func (r *result) say(chat int64, text string) {
	r.answers = append(r.answers, message{chat: chat, text: text})
}

func (r *result) setDialogue(user int64, d *dialogue) { r.user, r.dialogue = user, d }

func key(updateID int64) string { return "tg:" + itoa(updateID) }

// handle applies one update and finishes it: the dialogue and the offset are stored
// together, then the answers are sent.
func (g *Gateway) handle(ctx context.Context, u tele.Update) error {
	id := int64(u.ID)
	done, err := g.store.TelegramUpdateDone(ctx, id)
	if err != nil {
		return err
	}
	var r result
	if !done {
		switch {
		case u.Message != nil:
			err = g.onMessage(ctx, id, u.Message, &r)
		case u.Callback != nil:
			err = g.onCallback(ctx, id, u.Callback, &r)
		}
		if err != nil {
			return err
		}
	}
	if g.beforeAck != nil {
		if err := g.beforeAck(id); err != nil {
			return err
		}
	}
	state := ""
	if r.user != 0 && r.dialogue != nil {
		b, err := json.Marshal(r.dialogue)
		if err != nil {
			return err
		}
		state = string(b)
	}
	if err := g.store.FinishTelegramUpdate(ctx, id, r.user, state, updateKeep); err != nil {
		return fmt.Errorf("finish update %d: %w", id, err)
	}
	// The answers go out after the commit: a crash here loses an answer, never repeats a
	// change. The changes' own notifications are in the outbox.
	if r.callback != "" {
		payload := map[string]any{"callback_query_id": r.callback}
		if r.callbackText != "" {
			payload["text"] = r.callbackText
		}
		if err := g.c.call("answerCallbackQuery", payload, nil); err != nil {
			g.log.Debug("answer callback query", "err", err)
		}
	}
	for _, m := range r.answers {
		if err := g.sender.send(ctx, m); err != nil {
			g.log.Warn("telegram answer not sent", "chat", m.chat, "err", err)
		}
	}
	return nil
}

func (g *Gateway) loadDialogue(ctx context.Context, user int64) (*dialogue, error) {
	s, err := g.store.TelegramDialogue(ctx, user)
	if err != nil || s == "" {
		return nil, err
	}
	var d dialogue
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		g.log.Warn("dropping unreadable telegram dialogue", "user", user, "err", err)
		return nil, nil
	}
	return &d, nil
}

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

func (g *Gateway) user(ctx context.Context, telegramID int64) (*core.User, error) {
	u, err := g.svc.UserByTelegram(ctx, telegramID)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return nil, nil
	}
	return u, err
}

func (g *Gateway) explain() string {
	return "This is the support desk of " + g.opts.DeskName + ". Your Telegram account is not linked to a customer " +
		"account yet, so I cannot take messages from it.\n\nTo link it, open the customer panel, choose Telegram, and " +
		"follow the link shown there: it opens this chat with /start and a one-time code (valid 15 minutes)."
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

func (g *Gateway) onMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
	if m.Sender == nil || m.Chat == nil || m.Sender.IsBot {
		return nil
	}
	if m.Chat.Type != tele.ChatPrivate {
		if g.opts.StaffChatID != 0 && m.Chat.ID == g.opts.StaffChatID {
			return g.onStaffMessage(ctx, id, m, r)
		}
		return nil // other groups are not ours to answer
	}
	chat, from := m.Chat.ID, m.Sender.ID
	user, err := g.user(ctx, from)
	if err != nil {
		return err
	}
	cmd, arg := command(m.Text)
	if cmd == "start" {
		return g.start(ctx, chat, from, user, arg, r)
	}
	if user == nil {
		r.say(chat, g.explain())
		return nil
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram}
	if cmd != "" {
		return g.command(ctx, chat, from, actor, cmd, arg, r)
	}

	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = strings.TrimSpace(m.Caption)
	}
	files, refusal := g.filesOf(m)
	if refusal != "" {
		r.say(chat, refusal)
		return nil
	}
	if text == "" && len(files) == 0 {
		r.say(chat, "I can take text, photos and documents only.")
		return nil
	}
	// A Telegram reply to a message of a ticket answers that ticket.
	if m.ReplyTo != nil {
		ticket, err := g.store.TelegramMessageTicket(ctx, chat, int64(m.ReplyTo.ID))
		if err != nil {
			return err
		}
		if ticket != 0 {
			return g.ingest(ctx, chat, from, actor, draft{ticket: ticket, text: text, files: files, key: key(id)}, r)
		}
	}
	d, err := g.loadDialogue(ctx, from)
	if err != nil {
		return err
	}
	switch {
	case d != nil && d.Step == stepTopic:
		r.say(chat, "Please choose a topic with the buttons above, or send /cancel.")
		return nil
	case d != nil && d.Step == stepSubject:
		subject, problem := checkSubject(text)
		if problem != "" || len(files) > 0 {
			if problem == "" {
				problem = "Please send the subject as text; the files can come with the description."
			}
			r.say(chat, problem)
			return nil
		}
		d.Subject, d.Step = subject, stepDescription
		r.setDialogue(from, d)
		r.say(chat, "Subject: "+subject+"\nNow describe the problem (text, a photo or a document).")
		return nil
	case d != nil && d.Step == stepDescription:
		r.setDialogue(from, nil)
		topic := core.Topic(d.Topic)
		return g.ingest(ctx, chat, from, actor, draft{subject: d.Subject, topic: &topic, text: text, files: files, key: key(id)}, r)
	case d != nil && d.Step == stepReply:
		r.setDialogue(from, nil)
		return g.ingest(ctx, chat, from, actor, draft{ticket: d.Ticket, text: text, files: files, key: key(id)}, r)
	}
	return g.askWhere(ctx, chat, from, actor, dialogue{Step: stepChoose, Text: text, Files: files, Key: key(id)}, r)
}

// askWhere asks whether a plain message opens a ticket or answers one of the open ones.
func (g *Gateway) askWhere(ctx context.Context, chat, from int64, actor core.Actor, d dialogue, r *result) error {
	open, err := g.svc.OpenTickets(ctx, actor, 8)
	if err != nil {
		return err
	}
	rows := [][]button{{{Text: "New ticket", Data: "new"}}}
	for _, t := range open {
		rows = append(rows, []button{{Text: fmt.Sprintf("Reply to #%d %s", t.ID, cut(t.Subject, 40)), Data: "pick:" + itoa(t.ID)}})
	}
	rows = append(rows, []button{{Text: "Cancel", Data: "cancel"}})
	r.setDialogue(from, &d)
	q := "Is this a new ticket?"
	if len(open) > 0 {
		q = "Is this a new ticket, or a reply to one of your open tickets?"
	}
	r.answers = append(r.answers, message{chat: chat, text: q, buttons: rows})
	return nil
}

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

func (g *Gateway) onCallback(ctx context.Context, id int64, cb *tele.Callback, r *result) error {
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
	if user == nil {
		r.callbackText = "Link your Telegram account first."
		if !staffChat {
			r.say(chat, g.explain())
		}
		return nil
	}
	actor := core.Actor{User: user, Channel: core.ChannelTelegram}
	action, arg, _ := strings.Cut(cb.Data, ":")
	n, _ := strconv.ParseInt(arg, 10, 64)
	switch action {
	case "reply":
		t, err := g.svc.VisibleTicket(ctx, actor, n)
		if core.ErrorCode(err) == core.ENOTFOUND {
			r.say(chat, notFound(n))
			return nil
		} else if err != nil {
			return err
		}
		if !staffChat {
			r.setDialogue(from, &dialogue{Step: stepReply, Ticket: t.ID})
		}
		r.answers = append(r.answers, message{chat: chat, ticket: t.ID, forceReply: true,
			text: fmt.Sprintf("Write your reply to ticket #%d (%s) as an answer to this message.", t.ID, cut(t.Subject, 60))})
		return nil
	case "close":
		return g.closeTicket(ctx, chat, actor, n, r)
	}
	if staffChat {
		r.callbackText = "This button works in the private chat only."
		return nil
	}
	d, err := g.loadDialogue(ctx, from)
	if err != nil {
		return err
	}
	expired := func() error {
		r.callbackText = "This question has expired."
		r.say(chat, "This question has expired. Send /new to open a ticket, or just write your message.")
		return nil
	}
	switch action {
	case "cancel":
		r.setDialogue(from, nil)
		r.say(chat, "Cancelled. Nothing was sent.")
	case "topic":
		topic := core.Topic(n)
		if d == nil || d.Step != stepTopic || !topic.Valid() || arg == "" {
			return expired()
		}
		d.Topic, d.Step = int(topic), stepSubject
		r.setDialogue(from, d)
		r.say(chat, "Topic: "+topic.Label()+".\nNow send the subject in one line (at most 200 characters).")
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
		r.callbackText = "This button is no longer valid."
	}
	return nil
}

// onStaffMessage handles the staff chat: a linked staff user's Telegram reply to a post of
// ticket N answers N as staff. Everything else there is the staff's own talk.
func (g *Gateway) onStaffMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
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
	answer := func(text string) {
		r.answers = append(r.answers, message{chat: chat, text: text, replyTo: m.ID})
	}
	switch {
	case user == nil:
		answer("Your Telegram account is not linked to a staff user, so this was not added to ticket #" + itoa(ticket) +
			". Link it from the panel (POST /api/Telegram/Link) and send /start <code> to the bot in a private chat.")
		return nil
	case !user.Role.IsStaff():
		answer("Only staff can answer tickets from this chat; this was not added to ticket #" + itoa(ticket) + ".")
		return nil
	}
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = strings.TrimSpace(m.Caption)
	}
	files, refusal := g.filesOf(m)
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
