package gateway

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

var testOpts = RenderOptions{Address: "support@desk.example", Name: "Example Desk", Secret: []byte("test-secret"),
	TicketLink: func(id int64) string { return "https://panel.example/support/tickets/" + strconv.FormatInt(id, 10) }}

var channels = []core.Channel{core.ChannelEmail, core.ChannelTelegram}

// parts are the templates a notification on ch renders.
func parts(ch core.Channel) []string {
	if ch == core.ChannelEmail {
		return []string{"subject", "text", "html"}
	}
	return []string{"subject", "telegram"}
}

// errorLog records what a render logs at Error.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		defer l.mu.Unlock()
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
		l.msgs = append(l.msgs, b.String())
	}
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

var leakedKey = regexp.MustCompile(`\bmail\.[a-z_]+`)

// TestTemplates_EveryKindLanguageAndChannel renders every template of every kind in every
// shipped language: none fails, every key used has its own text in the language, and no
// English text of a key shows in another language's output.
func TestTemplates_EveryKindLanguageAndChannel(t *testing.T) {
	for _, kind := range Kinds {
		for _, ch := range channels {
			for _, language := range lang.Supported {
				t.Run(string(kind)+"/"+string(ch)+"/"+language, func(t *testing.T) {
					in := sampleInput(kind, ch, language)
					o := testOpts
					o.DefaultLanguage = language // the notice's recipient is no user
					d := newTemplateData(o, in)
					if d.Language != language {
						t.Fatalf("language %q, want %q", d.Language, language)
					}
					var used []string
					d.used = &used
					var all strings.Builder
					for _, part := range parts(ch) {
						out, err := DefaultTemplates().Execute(kind, part, d)
						if err != nil {
							t.Fatalf("%s: %v", part, err)
						}
						if strings.TrimSpace(out) == "" {
							t.Fatalf("%s is empty", part)
						}
						if k := leakedKey.FindString(out); k != "" {
							t.Errorf("%s shows the key %s", part, k)
						}
						all.WriteString(html.UnescapeString(out) + "\n")
					}
					if in.ticket != nil {
						used = append(used, "status."+strconv.Itoa(int(in.ticket.Status)), "topic."+strconv.Itoa(int(in.ticket.Topic)))
					}
					if language == lang.English {
						return
					}
					for _, key := range used {
						if !lang.Has(language, key) {
							t.Errorf("%s has no text of its own for %s", language, key)
						}
						if lang.Text(language, key) == lang.Text(lang.English, key) {
							continue
						}
						for _, frag := range fragments(lang.Text(lang.English, key)) {
							if strings.Contains(all.String(), frag) {
								t.Errorf("English %q (%s) in the %s output:\n%s", frag, key, language, all.String())
							}
						}
					}
				})
			}
		}
	}
}

// fragments are a text's literal parts between its fmt verbs, long enough to mean something.
func fragments(text string) []string {
	var out []string
	for _, f := range regexp.MustCompile(`%[a-z]`).Split(text, -1) {
		if f = strings.TrimSpace(strings.Trim(f, " ,.:;()#")); len([]rune(f)) >= 5 {
			out = append(out, f)
		}
	}
	return out
}

// TestRender_TextMatchesHTML: the plain text is the whole mail, not a lesser copy: every
// line of it is in the HTML part's text, in every kind and language.
func TestRender_TextMatchesHTML(t *testing.T) {
	for _, kind := range Kinds {
		for _, language := range lang.Supported {
			out := render(testOpts, sampleInput(kind, core.ChannelEmail, language))
			h := htmlText(out.HTML)
			for _, line := range strings.Split(out.Text, "\n") {
				line = strings.Join(strings.Fields(strings.TrimPrefix(line, ">")), " ")
				if line == "" || line == "--" {
					continue
				}
				if !strings.Contains(h, line) {
					t.Errorf("%s/%s: text line %q is not in the HTML:\n%s", kind, language, line, h)
				}
			}
		}
	}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// htmlText is what a reader sees of an HTML mail: no tags, entities decoded, white space
// folded; the head's title left out.
func htmlText(s string) string {
	if i := strings.Index(s, "<body"); i >= 0 {
		s = s[i:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(s, " "))), " ")
}

// TestRender_HTMLRules checks what mail clients need of the HTML part: no remote content,
// inline styles, a declared colour scheme with explicit colours, a fluid width, and the
// reply marker where the plain text has it.
func TestRender_HTMLRules(t *testing.T) {
	remote := regexp.MustCompile(`(?i)<(img|link|script|iframe|object)\b|url\(|@import|src=`)
	for _, kind := range Kinds {
		out := render(testOpts, sampleInput(kind, core.ChannelEmail, "en"))
		h := out.HTML
		if m := remote.FindString(h); m != "" {
			t.Errorf("%s: remote or active content %q", kind, m)
		}
		for _, want := range []string{`<meta name="color-scheme" content="light dark">`, "max-width:600px", `name="viewport"`} {
			if !strings.Contains(h, want) {
				t.Errorf("%s: no %s", kind, want)
			}
		}
		if strings.Contains(h, "<style") {
			t.Errorf("%s: a style sheet; mail clients drop them", kind)
		}
		for _, style := range regexp.MustCompile(`style="([^"]*)"`).FindAllStringSubmatch(h, -1) {
			if strings.Contains(style[1], "color:") != strings.Contains(style[1], "background-color:") &&
				!strings.Contains(style[1], "border") {
				t.Errorf("%s: a colour without a background (or the reverse): %s", kind, style[1])
			}
		}
		marker := strings.Contains(out.Text, ReplyMarker)
		if marker != strings.Contains(h, ReplyMarker) {
			t.Errorf("%s: reply marker in text %v, in HTML %v", kind, marker, !marker)
		}
		if wantMarker := kind != core.NotifyNewTicket && kind != core.NotifyCustomerReply && kind != core.NotifyNotice &&
			kind != core.NotifySLAWarning && kind != core.NotifyTicketActivity; marker != wantMarker {
			t.Errorf("%s: reply marker %v, want %v", kind, marker, wantMarker)
		}
	}
}

// TestRender_HistoryIsPublicOnly: a mail quotes the earlier messages the customer sees,
// newest first, at most historyLimit, and never an internal note or a hidden message.
func TestRender_HistoryIsPublicOnly(t *testing.T) {
	msgs := []core.Message{{ID: 1, Body: "one"}, {ID: 2, Body: "note", Internal: true}, {ID: 3, Body: "three"},
		{ID: 4, Body: "hidden", Hidden: true}, {ID: 5, Body: "five"}, {ID: 6, Body: "six"}, {ID: 7, Body: "seven"}}
	tests := []struct {
		current int64
		want    []int64
	}{
		{current: 7, want: []int64{6, 5, 3}},
		{current: 5, want: []int64{3, 1}},
		{current: 1, want: nil},
		{current: 0, want: []int64{7, 6, 5}},
	}
	for _, tt := range tests {
		var got []int64
		for _, m := range earlierPublic(msgs, tt.current) {
			got = append(got, m.ID)
		}
		if !slicesEqual(got, tt.want) {
			t.Errorf("before %d: %v, want %v", tt.current, got, tt.want)
		}
	}
	out := render(testOpts, sampleInput(core.NotifyCustomerReply, core.ChannelEmail, "en"))
	for _, secret := range []string{"Internal: origin firewall", "Hidden draft"} {
		if strings.Contains(out.Text, secret) || strings.Contains(out.HTML, secret) {
			t.Errorf("%q quoted", secret)
		}
	}
	if !strings.Contains(out.Text, "> It is 203.0.113.10.") {
		t.Errorf("no history quoted:\n%s", out.Text)
	}
}

func slicesEqual(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRender_Language: the recipient's language, matched against the desk's default.
func TestRender_Language(t *testing.T) {
	tests := []struct {
		user, def, want string
		noUser          bool
	}{
		{user: "es-MX", want: "es"},
		{user: "", def: "ru", want: "ru"},
		{user: "pt-BR", def: "bg", want: "bg"},
		{user: "pt-BR", want: "en"},
		{noUser: true, def: "es", want: "es"},
		{noUser: true, want: "en"},
	}
	for _, tt := range tests {
		in := sampleInput(core.NotifyNewTicket, core.ChannelEmail, tt.user)
		if tt.noUser {
			in.recipient = nil
		}
		o := testOpts
		o.DefaultLanguage = tt.def
		if got := newTemplateData(o, in).Language; got != tt.want {
			t.Errorf("user %q default %q no user %v: %q, want %q", tt.user, tt.def, tt.noUser, got, tt.want)
		}
	}
}

func writeOverride(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadTemplates_Override: a file of the directory redefines what it defines; the
// templates it leaves alone stay as shipped.
func TestLoadTemplates_Override(t *testing.T) {
	dir := writeOverride(t, map[string]string{
		"ticket_created.text.tmpl": `{{define "ticket_created.subject"}}Ticket {{.Ticket.ID}} received{{end}}` +
			`{{define "ticket_created.text"}}Thanks, {{.Recipient.Name}}. We are on it.{{end}}`,
		"staff_reply.html.tmpl": `{{define "staff_reply.html"}}<p>{{.Message.Text}}</p>{{end}}`,
		"README":                "not a template: ignored",
	})
	tpl, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := testOpts
	o.Templates = tpl
	out := render(o, sampleInput(core.NotifyTicketCreated, core.ChannelEmail, "en"))
	if out.Subject != "Ticket 1042 received" || out.Text != "Thanks, Ann Example. We are on it." {
		t.Errorf("override not used: %q %q", out.Subject, out.Text)
	}
	if def := render(testOpts, sampleInput(core.NotifyTicketCreated, core.ChannelEmail, "en")); htmlText(out.HTML) != htmlText(def.HTML) {
		t.Error("the HTML, not overridden, changed") // but for its title, the subject
	}
	if out := render(o, sampleInput(core.NotifyStaffReply, core.ChannelEmail, "en")); !strings.HasPrefix(out.HTML, "<p>Your origin&#39;s firewall") {
		t.Errorf("HTML override not used: %q", out.HTML)
	}
	// The same directory through RenderOptions, as the daemon loads it.
	o = testOpts
	o.TemplatesDir = dir
	if err := o.LoadTemplates(); err != nil || o.Templates == nil || o.Templates.Dir != dir {
		t.Fatalf("RenderOptions.LoadTemplates: %v", err)
	}
}

// TestLoadTemplates_Errors: what stops the daemon at start names the file and the line.
func TestLoadTemplates_Errors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"text parse error", map[string]string{"notice.text.tmpl": "{{define \"notice.subject\"}}\nfine\n{{.Ticket.ID}\n{{end}}"}, "notice.text.tmpl:3"},
		{"html parse error", map[string]string{"notice.html.tmpl": "{{define \"notice.html\"}}\n{{if}}{{end}}"}, "notice.html.tmpl:2"},
		{"unknown function", map[string]string{"staff_reply.text.tmpl": "\n\n{{define \"staff_reply.text\"}}{{shout .}}{{end}}"}, "staff_reply.text.tmpl:3"},
		{"unknown file", map[string]string{"tickt_created.text.tmpl": ""}, "tickt_created.text.tmpl: no template of this name"},
	}
	for _, tt := range tests {
		dir := writeOverride(t, tt.files)
		_, err := LoadTemplates(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "")) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s in %s", tt.name, err, tt.want, dir)
		}
	}
	if _, err := LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}

// TestRender_ExecutionFailureFallsBack: an override that fails on real data is replaced
// by the embedded default, logged, and the notification still goes out whole.
func TestRender_ExecutionFailureFallsBack(t *testing.T) {
	dir := writeOverride(t, map[string]string{
		"staff_reply.text.tmpl": `{{define "staff_reply.text"}}{{index .History 99}}{{end}}`,
		"staff_reply.html.tmpl": `{{define "staff_reply.html"}}{{.Ticket.NoSuchField}}{{end}}`,
	})
	tpl, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := &errorLog{}
	o := testOpts
	o.Templates, o.Logger = tpl, slog.New(log)
	in := sampleInput(core.NotifyStaffReply, core.ChannelEmail, "es")
	got, want := render(o, in), render(testOpts, in)
	if got.Text != want.Text || got.HTML != want.HTML || got.Subject != want.Subject {
		t.Errorf("not the default:\n%s\n---\n%s", got.Text, want.Text)
	}
	joined := strings.Join(log.msgs, "\n")
	if len(log.msgs) != 2 || !strings.Contains(joined, "staff_reply.text") || !strings.Contains(joined, "staff_reply.html") {
		t.Errorf("logged %q", log.msgs)
	}
}

// TestRender_LastResort: should even the default fail (a bug), the notification still says
// what it is about.
func TestRender_LastResort(t *testing.T) {
	d := newTemplateData(testOpts, sampleInput(core.NotifyStaffReply, core.ChannelEmail, "en"))
	for _, part := range []string{"subject", "text", "html"} {
		if s := lastResort(d, part); !strings.Contains(s, "Website returns 502 errors") {
			t.Errorf("%s: %q", part, s)
		}
	}
}

// TestRender_Notices: the notices the pipeline queues are said in the recipient's language;
// any other text goes out as queued.
func TestRender_Notices(t *testing.T) {
	details := map[string]string{
		"unknown_sender": "We could not match your address to a customer account, so your message did not open a ticket. Please write from the address registered in your panel, or open the ticket in the panel.",
		"unverified":     "Your mail was not applied: the desk could not verify that it comes from you (no DMARC or DKIM pass, and it was not sent to your own reply address). Reply to the notification you received, or answer in the panel.",
		"no_account":     "Your address is not linked to a customer account, so your message did not open a ticket.",
		"many_accounts":  "Your address belongs to several accounts, so we could not tell which one the ticket is for. Please open it in the panel.",
		"no_ticket":      "Your message names no ticket. To answer a ticket, reply to its notification.",
		"closed":         "Ticket #12 is closed; your reply was not added to it.",
		"files_refused":  `Not stored: "huge.iso" (11 MB) is larger than the 1000 bytes limit; "a \"b\".zip" is larger than the 1000 bytes limit. Please send a smaller file, or a link to it.`,
		"not_added":      "Your message could not be added: Message is too long.",
	}
	for key, detail := range details {
		for _, language := range lang.Supported[1:] {
			k, text := localNotice(language, detail)
			if k != key {
				t.Errorf("%s: recognised as %q", key, k)
			}
			if strings.Contains(text, "Please") || strings.Contains(text, "Your ") || strings.Contains(text, "larger than") {
				t.Errorf("%s in %s is English: %q", key, language, text)
			}
		}
	}
	if _, text := localNotice("es", "\"x.bin\" is larger than the 5 MB limit"); text == "" {
		t.Error("unknown text dropped")
	}
	if k, text := localNotice("ru", "Something new."); k != "other" || text != "Something new." {
		t.Errorf("unknown notice: %q %q", k, text)
	}
	in := sampleInput(core.NotifyNotice, core.ChannelEmail, "")
	in.n.Detail = details["files_refused"]
	o := testOpts
	o.DefaultLanguage = "bg"
	out := render(o, in)
	if !strings.Contains(out.Text, `"huge.iso" (11 MB) надвишава`) || out.AutoSubmitted != "auto-replied" {
		t.Errorf("notice: %+v", out)
	}
}

// TestRender_TelegramActionsInLanguage: the buttons under a chat notification are in the
// recipient's language.
func TestRender_TelegramActionsInLanguage(t *testing.T) {
	out := render(testOpts, sampleInput(core.NotifyStaffReply, core.ChannelTelegram, "ru"))
	if len(out.Actions) != 2 || out.Actions[0].Label != "Ответить" || out.Actions[1].Label != "Закрыть" || out.HTML != "" {
		t.Errorf("actions %+v", out.Actions)
	}
}

// TestPreview: every kind, language and format renders; a bad name, format or language is
// refused naming the field.
func TestPreview(t *testing.T) {
	for _, kind := range Kinds {
		for _, f := range Formats {
			subject, body, err := testOpts.Preview(string(kind), "bg", f)
			if err != nil || subject == "" || body == "" {
				t.Errorf("%s %s: %q %q %v", kind, f, subject, body, err)
			}
			if (f == "html") != strings.HasPrefix(body, "<!DOCTYPE html>") {
				t.Errorf("%s %s: %.40q", kind, f, body)
			}
			if b := strings.ReplaceAll(body, ReplyMarker, ""); strings.Contains(b, "Please") || strings.Contains(b, "Hello") {
				t.Errorf("%s %s is not in Bulgarian: %s", kind, f, body)
			}
		}
	}
	for _, tt := range []struct{ name, language, format, field string }{
		{"nope", "en", "text", "name"},
		{"notice", "en", "pdf", "format"},
		{"notice", "xx", "text", "language"},
	} {
		_, _, err := testOpts.Preview(tt.name, tt.language, tt.format)
		if core.ErrorCode(err) != core.EINVALID || len(core.ErrorFields(err)) != 1 || core.ErrorFields(err)[0].Field != tt.field {
			t.Errorf("%+v: %v", tt, err)
		}
	}
}

// TestNotificationMessageID: random-looking, stable within the process, lower case, and
// found again by canonicalRef whatever a client did to its case; the earlier numbered
// form still resolves.
func TestNotificationMessageID(t *testing.T) {
	a, b := NotificationMessageID(41, "desk.example"), NotificationMessageID(42, "desk.example")
	if a == b || a != NotificationMessageID(41, "desk.example") {
		t.Errorf("ids %q %q", a, b)
	}
	if !regexp.MustCompile(`^helpdeskd\.n[0-9a-f]{32}@desk\.example$`).MatchString(a) {
		t.Errorf("form %q", a)
	}
	tests := []struct{ in, want string }{
		{strings.ToUpper(a), a},
		{a, a},
		{"HELPDESKD.N17@DESK.EXAMPLE", "helpdeskd.n17@desk.example"},
		{"helpdeskd.n17@desk.example", "helpdeskd.n17@desk.example"},
		{"HELPDESKD.N17@other.example", "HELPDESKD.N17@other.example"},
		{"Other@Mail.Example", "Other@Mail.Example"},
		{"helpdeskd.ticket.5@desk.example", "helpdeskd.ticket.5@desk.example"},
	}
	for _, tt := range tests {
		if got := canonicalRef(tt.in, "desk.example"); got != tt.want {
			t.Errorf("canonicalRef(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	out := render(testOpts, sampleInput(core.NotifyTicketCreated, core.ChannelEmail, "en"))
	if out.MessageID != NotificationMessageID(1, "desk.example") {
		t.Errorf("message id %q", out.MessageID)
	}
	if !bytes.Contains([]byte(strings.Join(out.References, " ")), []byte(ThreadRoot(1042, "desk.example"))) {
		t.Errorf("references %v", out.References)
	}
}
