package telegram

import (
	"context"
	"strings"
	"unicode/utf8"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// draft is a message on its way into the pipeline.
type draft struct {
	ticket  int64 // the ticket it answers (0: a new ticket)
	subject string
	topic   *core.Topic
	text    string
	files   []fileRef
	key     string
	replyTo int // quote this message in the answer (staff chat)
}

// ingest applies a draft through the gateway's pipeline and says what happened.
func (g *Bot) ingest(ctx context.Context, chat, from int64, actor core.Actor, d draft, r *result) error {
	answer := func(text string, ticket int64) {
		r.answers = append(r.answers, message{chat: chat, text: text, ticket: ticket, replyTo: d.replyTo})
	}
	if d.ticket != 0 {
		// The pipeline would open a new ticket for a ticket the sender may not see; in a
		// chat that names the ticket explicitly, that is a mistake to point out instead.
		if _, err := g.svc.VisibleTicket(ctx, actor, d.ticket); core.ErrorCode(err) == core.ENOTFOUND {
			answer(r.notFound(d.ticket), 0)
			return nil
		} else if err != nil {
			return err
		}
	}
	atts, refusal := g.download(d.files, r)
	if refusal != "" {
		answer(refusal, 0)
		return nil
	}
	text := d.text
	if text == "" {
		text = "(" + describeFiles(d.files) + ")"
	}
	out, err := g.pipe.Ingest(ctx, gateway.Inbound{Channel: core.ChannelTelegram, Key: d.key, TelegramUserID: from,
		Subject: d.subject, Text: text, Attachments: atts, ReplyToTicket: d.ticket, Topic: d.topic, InStaffChat: actor.InStaffChat})
	if err != nil {
		return err
	}
	if out.Result == gateway.ResultDuplicate {
		// Applied before a crash, not finished: answer as then.
		rec, err := g.store.Inbound(ctx, core.ChannelTelegram, d.key)
		if err != nil {
			return err
		}
		out = gateway.Outcome{Result: rec.Result, TicketID: rec.TicketID, Reason: rec.Reason}
		if out.Result == gateway.ResultTicket && d.ticket != 0 {
			out.Result = gateway.ResultFollowUp
		}
	}
	switch out.Result {
	case gateway.ResultReply:
		answer(r.tf("bot.added", out.TicketID), out.TicketID)
	case gateway.ResultTicket:
		answer(r.tf("bot.ticket_opened_now", out.TicketID, gateway.CleanSubject(d.subject)), out.TicketID)
	case gateway.ResultFollowUp:
		answer(r.tf("bot.follow_up", d.ticket, out.TicketID), out.TicketID)
	default:
		// The pipeline's reason is the desk's own words, like core's error messages.
		answer(r.tf("bot.not_added", out.Reason), 0)
	}
	return nil
}

// filesOf lists a message's photo or document; a file over the limits refuses the whole
// message, with the reason in r's language.
func (g *Bot) filesOf(m *tele.Message, r *result) ([]fileRef, string) {
	var f fileRef
	switch {
	case m.Document != nil:
		f = fileRef{ID: m.Document.FileID, Name: m.Document.FileName, MIME: m.Document.MIME, Size: m.Document.FileSize}
		if f.Name == "" {
			f.Name = "document"
		}
	case m.Photo != nil:
		f = fileRef{ID: m.Photo.FileID, Name: "photo-" + itoa(int64(m.ID)) + ".jpg", MIME: "image/jpeg", Size: m.Photo.FileSize}
	default:
		return nil, ""
	}
	if f.ID == "" {
		return nil, ""
	}
	if refusal := g.tooLarge(f, f.Size, r); refusal != "" {
		return nil, refusal
	}
	return []fileRef{f}, ""
}

func (g *Bot) limit() int64 { return min(g.svc.MaxAttachmentBytes(), BotDownloadLimit) }

// tooLarge says, in r's language, why a file of size is refused ("" if it is not).
func (g *Bot) tooLarge(f fileRef, size int64, r *result) string {
	max := g.svc.MaxAttachmentBytes()
	switch {
	case size > max:
		return r.tf("bot.file_too_large", core.SafeFileName(f.Name), core.HumanBytes(size), core.HumanBytes(max))
	case size > BotDownloadLimit:
		return r.tf("bot.file_over_download", core.SafeFileName(f.Name), core.HumanBytes(size), core.HumanBytes(BotDownloadLimit))
	}
	return ""
}

// download fetches the files; a file that cannot be fetched refuses the message (it is
// the sender's to send again, not an update to retry forever), with the reason in r's
// language.
func (g *Bot) download(files []fileRef, r *result) ([]gateway.File, string) {
	var out []gateway.File
	for _, f := range files {
		data, over, err := g.c.download(f.ID, g.limit())
		if err != nil {
			g.log.Warn("telegram file download failed", "err", err)
			return nil, r.tf("bot.file_not_fetched", core.SafeFileName(f.Name))
		}
		if over {
			return nil, g.tooLarge(f, g.limit()+1, r)
		}
		out = append(out, gateway.File{Name: f.Name, ContentType: f.MIME, Size: int64(len(data)), Data: data})
	}
	return out, ""
}

// describeFiles names a message's files in the ticket itself (its text or subject when it
// has none), which the desk's staff read too; so it is not the sender's language.
func describeFiles(files []fileRef) string {
	if len(files) == 1 && strings.HasPrefix(files[0].MIME, "image/") {
		return "photo"
	}
	if len(files) > 0 {
		return "file " + core.SafeFileName(files[0].Name)
	}
	return "empty message"
}

// Problems checkSubject finds: the keys of their texts.
const (
	subjectEmpty   = "bot.subject_empty"
	subjectTooLong = "bot.subject_too_long"
)

// checkSubject validates a subject typed in the chat: the subject, or "" and the problem
// (subjectEmpty, subjectTooLong; subjectProblem words it). Control characters and line
// separators become spaces: the API refuses them, but in a chat the customer's words are
// kept and only made one line.
func checkSubject(s string) (string, string) {
	s = oneLine(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", subjectEmpty
	case n > core.MaxSubjectChars:
		return "", subjectTooLong
	}
	return s, ""
}

// subjectProblem is the text, in r's language, of checkSubject's problem with s.
func (r *result) subjectProblem(s, problem string) string {
	if problem == subjectTooLong {
		return r.tf(problem, utf8.RuneCountInString(oneLine(s)), core.MaxSubjectChars)
	}
	return r.t(problem)
}

// subjectOf makes a subject from a message's first line.
func subjectOf(text string, files []fileRef) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if line = oneLine(line); line == "" {
		return "Telegram: " + describeFiles(files)
	}
	return cut(line, 80)
}

// oneLine makes s a one-line subject: control characters and line separators become
// spaces, runs of white space one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(core.CleanLine(s)), " ")
}

// cut shortens s to n characters, at a space where one is near, with an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	c := string(r[:n-1])
	if i := strings.LastIndex(c, " "); i > len(c)/2 {
		c = c[:i]
	}
	return c + "…"
}
