package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
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
	// language is what the answers are written in (lang.Match's pick), set once the sender
	// is known; "" is English.
	language string
}

func (r *result) say(chat int64, text string) {
	r.answers = append(r.answers, message{chat: chat, text: text})
}

// t is key's text in the answers' language.
func (r *result) t(key string) string { return lang.Text(r.language, key) }

// tf is key's text in the answers' language, formatted with args.
func (r *result) tf(key string, args ...any) string { return lang.Textf(r.language, key, args...) }

func (r *result) setDialogue(user int64, d *dialogue) { r.user, r.dialogue = user, d }

func key(updateID int64) string { return "tg:" + itoa(updateID) }

// handle applies one update and finishes it: the dialogue and the offset are stored
// together, then the answers are sent.
func (g *Bot) handle(ctx context.Context, u tele.Update) error {
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
	chat, thread := whereFrom(u)
	for _, m := range r.answers {
		if m.chat == chat && m.thread == 0 {
			m.thread = thread // an answer in a forum topic stays in it
		}
		if err := g.sender.send(ctx, m); err != nil {
			g.log.Warn("telegram answer not sent", "chat", m.chat, "err", err)
		}
	}
	return nil
}

// whereFrom is the chat and forum topic (0: none) an update came from.
func whereFrom(u tele.Update) (chat, thread int64) {
	m := u.Message
	if m == nil && u.Callback != nil {
		m = u.Callback.Message
	}
	if m == nil || m.Chat == nil {
		return 0, 0
	}
	return m.Chat.ID, topicOf(m)
}

func (g *Bot) loadDialogue(ctx context.Context, user int64) (*dialogue, error) {
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

func (g *Bot) user(ctx context.Context, telegramID int64) (*core.User, error) {
	u, err := g.svc.UserByTelegram(ctx, telegramID)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return nil, nil
	}
	return u, err
}

// language picks the language to answer in: a linked user's own, else the desk's default.
// Someone not linked yet has told the desk nothing, so their Telegram client's language
// (sender, when known) is the best guess.
func (g *Bot) language(user *core.User, sender *tele.User) string {
	switch {
	case user != nil:
		return lang.Match(user.Language, g.opts.DefaultLanguage)
	case sender != nil:
		return lang.Match(sender.LanguageCode, g.opts.DefaultLanguage)
	}
	return lang.Match(g.opts.DefaultLanguage, "")
}

func (g *Bot) explain(r *result) string { return r.tf("bot.explain", g.opts.DeskName) }

func (g *Bot) onMessage(ctx context.Context, id int64, m *tele.Message, r *result) error {
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
	r.language = g.language(user, m.Sender)
	cmd, arg := command(m.Text)
	if cmd == "start" {
		return g.start(ctx, chat, from, user, arg, r)
	}
	if user == nil {
		r.say(chat, g.explain(r))
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
	files, refusal := g.filesOf(m, r)
	if refusal != "" {
		r.say(chat, refusal)
		return nil
	}
	if text == "" && len(files) == 0 {
		r.say(chat, r.t("bot.unsupported"))
		return nil
	}
	// A Telegram reply to a message of a ticket answers that ticket.
	if m.ReplyTo != nil {
		ticket, err := g.store.TelegramMessageTicket(ctx, chat, int64(m.ReplyTo.ID))
		if err != nil {
			return err
		}
		if ticket == 0 && m.ReplyTo.Sender != nil && m.ReplyTo.Sender.IsBot && g.sender.flights.settle(ctx, chat, replySettle) {
			// A reply to a message of ours whose send had not finished: now it has.
			if ticket, err = g.store.TelegramMessageTicket(ctx, chat, int64(m.ReplyTo.ID)); err != nil {
				return err
			}
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
		r.say(chat, r.t("bot.choose_topic"))
		return nil
	case d != nil && d.Step == stepSubject:
		subject, problem := checkSubject(text)
		switch {
		case problem != "":
			r.say(chat, r.subjectProblem(text, problem))
			return nil
		case len(files) > 0:
			r.say(chat, r.t("bot.subject_as_text"))
			return nil
		}
		d.Subject, d.Step = subject, stepDescription
		r.setDialogue(from, d)
		r.say(chat, r.tf("bot.subject_set", subject))
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
func (g *Bot) askWhere(ctx context.Context, chat, from int64, actor core.Actor, d dialogue, r *result) error {
	open, err := g.svc.OpenTickets(ctx, actor, 8)
	if err != nil {
		return err
	}
	rows := [][]button{{{Text: r.t("bot.button_new"), Data: "new"}}}
	for _, t := range open {
		rows = append(rows, []button{{Text: r.tf("bot.button_pick", t.ID, cut(t.Subject, 40)), Data: "pick:" + itoa(t.ID)}})
	}
	rows = append(rows, []button{{Text: r.t("bot.button_cancel"), Data: "cancel"}})
	r.setDialogue(from, &d)
	q := r.t("bot.ask_new")
	if len(open) > 0 {
		q = r.t("bot.ask_new_or_reply")
	}
	r.answers = append(r.answers, message{chat: chat, text: q, buttons: rows})
	return nil
}
