package gateway

import (
	"fmt"
	"html"
	"log/slog"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/core"
)

// RenderOptions are what notifications say about the desk.
type RenderOptions struct {
	// Address and Name are the support address and its display name.
	Address string
	Name    string
	// Secret keys reply tokens; nil means Reply-To is the plain support address.
	Secret []byte
	// TicketLink returns the panel link of a ticket ("" for none).
	TicketLink func(id int64) string
	// DefaultLanguage is the language of a recipient who has none (or one not shipped) and
	// of staff alerts to an address of no user ([notify] default_language); "" is English.
	DefaultLanguage string
	// TemplatesDir is the directory of template overrides ([notify] templates_dir); ""
	// for the embedded templates alone. LoadTemplates reads it into Templates.
	TemplatesDir string
	// Templates are the parsed templates; nil means the embedded ones.
	Templates *Templates
	// Logger is told of a template that failed and was replaced by its default; nil is
	// slog.Default().
	Logger *slog.Logger
}

// LoadTemplates parses the templates of TemplatesDir into Templates: called at start, so
// that a broken override stops the daemon with its file and line instead of every mail.
func (o *RenderOptions) LoadTemplates() error {
	t, err := LoadTemplates(o.TemplatesDir)
	if err != nil {
		return err
	}
	o.Templates = t
	return nil
}

// renderInput is what a notification is rendered from.
type renderInput struct {
	n         core.Notification
	ticket    *core.Ticket  // nil for a notice about no ticket
	message   *core.Message // the message that caused it, if any
	recipient *core.User    // nil for staff addresses and the staff chat
	author    *core.User    // the message's author, if any
	actor     *core.User    // who did what a ticket_activity posts, if known
	// assignee and department are whom an assignment post gave the ticket to, if known.
	assignee   *core.User
	department *core.Department
	origin     string // Message-ID of the mail that opened the ticket, if any
	// history is the mail's quoted conversation, newest first (earlierPublic), and authors
	// the users who wrote it, by ID.
	history []core.Message
	authors map[int64]*core.User
}

// render builds the Outgoing for a notification from its templates. A template that fails
// is replaced by its embedded default and logged: a notification is never lost to one.
func render(o RenderOptions, in renderInput) Outgoing {
	n := in.n
	out := Outgoing{NotificationID: n.ID, Kind: n.Kind, Channel: n.Channel, TicketID: n.TicketID, To: n.Recipient,
		AutoSubmitted: "auto-generated"}
	if n.Kind == core.NotifyNotice {
		out.AutoSubmitted = "auto-replied"
	}
	mail := n.Channel == core.ChannelEmail
	t := in.ticket
	r := renderer{o: o, n: n, data: newTemplateData(o, in), tpl: o.Templates}
	if r.tpl == nil {
		r.tpl = DefaultTemplates()
		if o.TemplatesDir != "" {
			r.log().Warn("notification templates_dir is set but was not loaded; the embedded templates are used", "dir", o.TemplatesDir)
		}
	}
	out.Subject = oneLine(r.exec("subject"))
	r.data.Subject = out.Subject
	if mail {
		out.Text = r.exec("text")
		out.HTML = r.exec("html")
	} else {
		out.Text = r.exec("telegram")
	}

	if mail {
		domain := domainOf(o.Address)
		out.MessageID = n.MessageRef
		if out.MessageID == "" {
			out.MessageID = NotificationMessageID(n.ID, domain)
		}
		var refs []string
		if in.origin != "" {
			refs = append(refs, in.origin)
		}
		if t != nil {
			refs = append(refs, ThreadRoot(t.ID, domain))
			if o.Secret != nil {
				out.ReplyTo = ReplyAddress(o.Address, o.Secret, t.ID, recipientID(in))
			}
		}
		if n.InReplyTo != "" && n.InReplyTo != in.origin {
			refs = append(refs, n.InReplyTo)
		}
		if len(refs) > 0 {
			out.References = refs
			out.InReplyTo = refs[len(refs)-1]
		}
	} else if t != nil && n.Kind != core.NotifyNotice {
		out.Thread = &Thread{Name: ThreadName(t.ID, t.Subject, threadNameMax)}
		if n.Kind == core.NotifyTicketActivity {
			// A post in the thread: the thread is where staff answer, no buttons needed.
			out.Thread.Only = true
			if a, ok := core.ParseActivity(n.Detail); ok && a.Kind == core.ActivityStatus {
				out.Thread.Close = n.NewStatus == core.StatusClosed
				out.Thread.Reopen = !out.Thread.Close
			}
			return out
		}
		id := strconv.FormatInt(t.ID, 10)
		out.Actions = []Action{{Label: r.data.T("mail.action_reply"), Data: "reply:" + id}}
		if t.Status != core.StatusClosed {
			out.Actions = append(out.Actions, Action{Label: r.data.T("mail.action_close"), Data: "close:" + id})
		}
	}
	return out
}

// threadNameMax is the longest forum topic name Telegram takes.
const threadNameMax = 128

// renderer executes one notification's templates.
type renderer struct {
	o    RenderOptions
	n    core.Notification
	data *TemplateData
	tpl  *Templates
}

// exec renders one part of the notification. A kind of no templates is rendered as a
// notice of its Detail, as before templates.
func (r renderer) exec(part string) string {
	kind := r.n.Kind
	if !knownKind(kind) {
		kind = core.NotifyNotice
	}
	s, err := r.tpl.Execute(kind, part, r.data)
	switch {
	case err == nil:
	case s != "":
		r.log().Error("notification template failed; its default was used", "notification", r.n.ID,
			"template", string(kind)+"."+part, "dir", r.tpl.Dir, "err", err)
	default:
		r.log().Error("notification template and its default failed; the bare facts were sent", "notification", r.n.ID,
			"template", string(kind)+"."+part, "dir", r.tpl.Dir, "err", err)
		s = lastResort(r.data, part)
	}
	return s
}

func (r renderer) log() *slog.Logger {
	if r.o.Logger != nil {
		return r.o.Logger
	}
	return slog.Default()
}

// lastResort is what a notification says when even the embedded template failed (a bug):
// the bare facts, so that it still goes out.
func lastResort(d *TemplateData, part string) string {
	var b strings.Builder
	if d.Ticket != nil {
		fmt.Fprintf(&b, "[#%d] %s", d.Ticket.ID, d.Ticket.Subject)
	} else {
		b.WriteString(d.DeskName())
	}
	if part == "subject" {
		return b.String()
	}
	b.WriteString("\n\n")
	if d.Message != nil {
		b.WriteString(d.Message.Text + "\n")
	}
	if d.Notice != nil {
		b.WriteString(d.Notice.Text + "\n")
	}
	if part == "html" {
		return "<pre>" + html.EscapeString(b.String()) + "</pre>"
	}
	return b.String()
}

// recipientID is the user a notification goes to: its own recipient, or the user whose
// address a staff alert is sent to; 0 for an address of no user.
func recipientID(in renderInput) int64 {
	if in.recipient != nil {
		return in.recipient.ID
	}
	return in.n.UserID
}

// oneLine keeps header values on one line whatever a subject holds.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == 0 }), " ")
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}
