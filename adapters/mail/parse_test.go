package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// file is an expected attachment.
type file struct {
	name, typ string
	size      int64
	tooLarge  bool
	data      string // checked when not empty
}

// want is what Parse must make of one hostile message. Booleans and the attachment list
// are always checked; strings only when set.
type want struct {
	err        error  // errors.Is; nil: no error
	errText    string // substring of the error
	key        string // exact; "hash" for the sha256 of the file
	from       string
	subject    string // exact
	text       string // substring of Text
	notText    []string
	to         []string
	inReplyTo  []string
	references []string
	hasDate    bool
	automatic  bool
	nullSender bool
	report     *gateway.DeliveryReport
	files      []file
	visible    string // exact Visible, when set
}

var hostileWant = map[string]want{
	"plain.eml": {key: "plain-1@customer.test", from: "ann@customer.test", subject: "Printer on fire",
		text: "Hello,\nthe printer is on fire.", to: []string{"support@helpdesk.test"}, hasDate: true},
	"lf-only.eml": {key: "lf-1@customer.test", from: "ann@customer.test", subject: "LF only", text: "body with LF ends", hasDate: true,
		files: []file{{name: "a.pdf", typ: "application/pdf", size: 11, data: "%PDF-1.4 lf"}}},
	"mixed-line-ends.eml": {key: "mixed-1@customer.test", from: "ann@customer.test", text: "first part CRLF", notText: []string{"second part"}, hasDate: true,
		files: []file{{name: "second.txt", typ: "text/plain", size: 14, data: "second part LF"}}},
	"multipart-no-final-boundary.eml": {key: "nofinal-1@customer.test", from: "ann@customer.test", text: "The text survives.", hasDate: true,
		files: []file{{name: "shot.png", typ: "image/png", size: 23}}},
	"multipart-no-boundary-param.eml": {key: "nobparam-1@customer.test", from: "ann@customer.test", text: "Found by guessing.", notText: []string{"MIME format"}, hasDate: true,
		files: []file{{name: "logs.zip", typ: "application/zip", size: 7, data: "PK\x03\x04zip"}}},
	"multipart-no-boundary-at-all.eml": {key: "noboundary-1@customer.test", from: "ann@customer.test", text: "Just text, although the header says multipart.", hasDate: true},
	"multipart-wrong-boundary.eml":     {key: "wrongb-1@customer.test", from: "ann@customer.test", text: "The boundary used is not the one declared.", notText: []string{"--actual"}, hasDate: true},
	"unknown-charset-latin1.eml":       {key: "unkcs-1@customer.test", from: "ann@customer.test", text: "Grüße aus Köln, café", hasDate: true},
	"unknown-charset-utf8.eml":         {key: "unkcs-2@customer.test", from: "ann@customer.test", text: "Zürich → Genève ✓", hasDate: true},
	"header-8bit-latin1.eml":           {key: "8bit-1@customer.test", from: "juergen@customer.test", subject: "Rückfrage zur Rechnung", text: "Text."},
	"header-8bit-utf8.eml":             {key: "8bit-2@customer.test", from: "juergen@customer.test", subject: "Rückfrage – Rechnung №5", text: "Text."},
	"no-message-id.eml":                {key: "hash", from: "ann@customer.test", subject: "No Message-ID", hasDate: true},
	"message-id-whitespace.eml":        {key: "hash", from: "ann@customer.test", hasDate: true},
	"message-id-unbracketed.eml":       {key: "unbracketed-1@customer.test", from: "ann@customer.test", hasDate: true},
	"message-id-empty.eml":             {key: "hash", from: "ann@customer.test", hasDate: true},
	"message-id-too-long.eml":          {key: "hash", from: "ann@customer.test", hasDate: true},
	"html-only.eml": {key: "html-1@customer.test", from: "ann@customer.test", hasDate: true,
		text:    "Hello support,\n\nthe site is down & slow…\n\n- first\n- second\nline\nbreak\n\nRegards <Ann>",
		notText: []string{"alert", "color", "Ignored title", "<p>", "&amp;"}},
	"html-only-qp-latin1.eml": {key: "html-2@customer.test", from: "ann@customer.test", hasDate: true,
		text: "Grüße, das ist ein sehr langer Absatz, der mit einem weichen Zeilenumbruch fortgesetzt wird."},
	"nested-rfc822-three-deep.eml": {key: "nested-1@customer.test", from: "ann@customer.test", subject: "Fwd: Fwd: Fwd: nested", hasDate: true,
		text: "See the forwarded mail.", notText: []string{"first", "second", "third"},
		files: []file{{name: "forwarded.eml", typ: "message/rfc822", size: 472}}},
	"tnef.eml": {key: "tnef-1@customer.test", from: "ann@customer.test", text: "See attached.", hasDate: true,
		files: []file{{name: "winmail.dat", typ: "application/ms-tnef", size: 15, data: "\x78\x9f\x3e\x22tnef-stream"}}},
	"winmail-dat.eml": {key: "tnef-2@customer.test", from: "ann@customer.test", text: "See attached.", hasDate: true,
		files: []file{{name: "winmail.dat", typ: "application/octet-stream", size: 8}}},
	"filename-dotdot.eml": {key: "dotdot-1@customer.test", from: "ann@customer.test", hasDate: true,
		files: []file{{name: "passwd", typ: "text/plain", size: 10, data: "root:x:0:0"}, {name: "file", typ: "application/octet-stream", size: 4}}},
	"filename-encoded-backslash.eml": {key: "bslash-1@customer.test", from: "ann@customer.test", hasDate: true,
		files: []file{{name: "evil.exe", typ: "application/octet-stream", size: 2, data: "MZ"}}},
	"filename-rfc2231-continuation.eml": {key: "rfc2231-1@customer.test", from: "ann@customer.test", hasDate: true,
		files: []file{{name: "Rechnung März 2026 – final.pdf", typ: "application/pdf", size: 4}}},
	"filename-rfc2231-latin1.eml": {key: "rfc2231-2@customer.test", from: "ann@customer.test", hasDate: true,
		files: []file{{name: "café crème.txt", typ: "text/plain", size: 10, data: "caf\xe9 cr\xe8me"}}},
	"filename-8bit-raw.eml": {key: "fn8bit-1@customer.test", from: "ann@customer.test", hasDate: true,
		files: []file{{name: "Übersicht.xls", typ: "application/octet-stream", size: 4}, {name: "Отчёт.doc", typ: "application/octet-stream", size: 4}}},
	"base64-garbage.eml": {key: "b64g-1@customer.test", from: "ann@customer.test", text: "Hello, this is base64 with garbage.", hasDate: true},
	"base64-truncated.eml": {key: "b64t-1@customer.test", from: "ann@customer.test", text: "x", hasDate: true,
		files: []file{{name: "cut.bin", typ: "application/octet-stream", size: 26, data: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}}},
	"qp-soft-breaks.eml": {key: "qp-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "This line is broken by a soft line break, costs 5 €, a=b, and ends here.\nTrailing =ZZ stays literal."},
	"null-bytes.eml": {key: "null-1@customer.test", from: "ann@customer.test", subject: "Null bytes", text: "beforeafter\n\nend", notText: []string{"\x00"}, hasDate: true},
	"dsn-our-notification.eml": {key: "20260407100000.ABC123@mx.customer.test", from: "mailer-daemon@mx.customer.test",
		subject: "Undelivered Mail Returned to Sender", text: "could not\nbe delivered", automatic: true, nullSender: true,
		report: &gateway.DeliveryReport{OriginalMessageID: "helpdeskd.n42@helpdesk.test", Action: "failed", Recipient: "gone@customer.test", Status: "5.1.1"},
		files:  []file{{name: "message.eml", typ: "message/rfc822", size: 195}}},
	"dsn-headers-only.eml": {key: "dsn-2@relay.test", from: "mailer-daemon@relay.test", text: "Delivery failed.", automatic: true, nullSender: true,
		report: &gateway.DeliveryReport{OriginalMessageID: "helpdeskd.n7@helpdesk.test", Action: "failed", Recipient: "bad@customer.test", Status: "5.2.2"}},
	"out-of-office.eml": {key: "ooo-1@customer.test", from: "bob@customer.test", automatic: true, inReplyTo: []string{"helpdeskd.n42@helpdesk.test"},
		text: "I am out of the office until Monday."},
	"auto-submitted-no.eml":         {key: "asno-1@customer.test", from: "ann@customer.test", text: "A human wrote this.", hasDate: true},
	"mailing-list.eml":              {key: "list-1@lists.test", from: "member@lists.test", automatic: true, to: []string{"users@lists.test"}},
	"precedence-bulk.eml":           {key: "bulk-1@shop.test", from: "news@shop.test", automatic: true},
	"x-autoreply.eml":               {key: "xar-1@customer.test", from: "robot@customer.test", automatic: true},
	"x-auto-response-suppress.eml":  {key: "xars-1@customer.test", from: "exchange@customer.test", automatic: true},
	"x-loop.eml":                    {key: "xloop-1@customer.test", from: "loop@customer.test", automatic: true},
	"no-from.eml":                   {err: ErrNoSender, key: "nofrom-1@customer.test", subject: "Who am I"},
	"from-display-name-only.eml":    {err: ErrNoSender, key: "nameonly-1@customer.test", subject: "Name only"},
	"from-odd-display-name.eml":     {key: "odd-1@example.com", from: "jqp@example.com"},
	"from-unknown-charset-word.eml": {key: "unkword-1@customer.test", from: "juergen@customer.test", subject: "Grüße"},
	"duplicate-headers.eml":         {key: "dup-first@customer.test", from: "first@customer.test", subject: "First subject"},
	"header-without-colon.eml":      {key: "nocolon-1@customer.test", from: "ann@customer.test", subject: "Header without colon", text: "Body after a broken header."},
	"mbox-from-line.eml":            {key: "mbox-1@customer.test", from: "ann@customer.test", subject: "mbox From line", text: "Body."},
	"subject-iso-2022-jp.eml":       {key: "jp-1@customer.test", from: "taro@customer.test", subject: "請求書について", text: "こんにちは、請求書が届きません。"},
	"subject-koi8-r.eml":            {key: "koi8-1@customer.test", from: "ivan@customer.test", subject: "Проблема с сайтом", text: "Сайт не работает."},
	"subject-gb18030.eml":           {key: "gb-1@customer.test", from: "li@customer.test", subject: "服务器故障", text: "我的服务器无法访问。"},
	"subject-broken-encoded-word.eml": {key: "badword-1@customer.test", from: "ann@customer.test", hasDate: true,
		subject: "=?utf-8?B?!!!not-base64?= and café and =?utf-8?X?bad?="},
	"subject-control-chars.eml": {key: "ctl-1@customer.test", from: "ann@customer.test", hasDate: true,
		subject: "Tab here, bell and Bcc: x@evil.test folded line"},
	"threading-lenient.eml": {key: "thr-1@customer.test", from: "ann@customer.test", hasDate: true,
		inReplyTo: []string{"helpdeskd.n5@helpdesk.test"}, references: []string{"root@helpdesk.test", "helpdeskd.n5@helpdesk.test", "bare@id.test"}},
	"mailer-daemon-from.eml": {key: "md-1@relay.test", from: "mailer-daemon@relay.test", nullSender: true},
	"return-path-null.eml":   {key: "rpnull-1@customer.test", from: "ann@customer.test", nullSender: true, hasDate: true},
	"recipients.eml": {key: "rcpt-1@customer.test", from: "ann@customer.test",
		to: []string{"support@helpdesk.test", "other@customer.test", "late@customer.test", "billing@helpdesk.test", "support+7-abcdef@helpdesk.test"}},
	"inline-image-no-filename.eml": {key: "inline-1@customer.test", from: "ann@customer.test", text: "See", hasDate: true,
		files: []file{{name: "attachment.png", typ: "image/png", size: 8}}},
	"text-attachment-latin1.eml": {key: "txtatt-1@customer.test", from: "ann@customer.test", text: "Body.", notText: []string{"Gr"}, hasDate: true,
		files: []file{{name: "notes.txt", typ: "text/plain", size: 5, data: "Gr\xfc\xdfe"}}},
	"alternative-html-first.eml":  {key: "altfirst-1@customer.test", from: "ann@customer.test", text: "plain version", notText: []string{"html version"}, hasDate: true},
	"alternative-empty-plain.eml": {key: "altempty-1@customer.test", from: "ann@customer.test", text: "only the html has text", hasDate: true},
	"split-text-around-image.eml": {key: "split-1@customer.test", from: "ann@customer.test", text: "Text before the image.\n\nText after the image.", hasDate: true,
		files: []file{{name: "photo.jpg", typ: "image/jpeg", size: 8}}},
	"bad-date.eml":   {key: "baddate-1@customer.test", from: "ann@customer.test", subject: "Bad date"},
	"empty.eml":      {errText: "empty message", key: "hash"},
	"not-a-mail.eml": {errText: "no header fields", key: "hash"},
	"part-header-malformed.eml": {key: "parthdr-1@customer.test", from: "ann@customer.test", text: "first part", notText: []string{"lost"}, hasDate: true,
		files: []file{{name: "kept.bin", typ: "application/octet-stream", size: 4, data: "kept"}}},
	"unknown-transfer-encoding.eml": {key: "unkcte-1@customer.test", from: "ann@customer.test", text: "begin 644 file.txt", hasDate: true},
	"utf16-text.eml":                {key: "utf16-1@customer.test", from: "ann@customer.test", text: "UTF-16 text: Ärger", hasDate: true},
	"multipart-digest.eml": {key: "digest-1@customer.test", from: "ann@customer.test", text: "Table of contents.", notText: []string{"first"}, hasDate: true,
		files: []file{{name: "message.eml", typ: "message/rfc822", size: 39}, {name: "message.eml", typ: "message/rfc822", size: 40}}},
	"report-read-receipt.eml":  {key: "mdn-1@customer.test", from: "bob@customer.test", text: "Your message was read.", automatic: true},
	"content-type-garbage.eml": {key: "ctgarbage-1@customer.test", from: "ann@customer.test", text: "Still text.", hasDate: true},
	"params-duplicate-unterminated.eml": {key: "params-1@customer.test", from: "ann@customer.test", text: "Text of a part with a broken charset quote.", hasDate: true,
		files: []file{{name: "a.pdf", typ: "application/pdf", size: 4, data: "%PDF"}}},
	"alternative-plain-stub.eml": {key: "altstub-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "April news\n\nOur new printer driver is out.", notText: []string{"read in HTML"}},
	"alternative-plain-far-shorter.eml": {key: "altshort-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "The export fails.\n\nSince the update on Monday every CSV export stops"},
	"text-named-inline-makefile.eml": {key: "makefile-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "The build fails with this Makefile:", notText: []string{"go build"},
		files: []file{{name: "Makefile", typ: "text/plain", size: 21, data: "all:\r\n\tgo build ./..."}}},
	"text-log-attachment.eml": {key: "log-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "The log is attached.", notText: []string{"ERROR"},
		files: []file{{name: "app.log", typ: "text/plain", size: 75, data: "2026-04-07 10:00:01 ERROR upstream timed out\n2026-04-07 10:00:02 INFO retry"}}},
	"html-second-part-mixed.eml": {key: "html2nd-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "See the report below.", notText: []string{"Q1", "<p>"},
		files: []file{{name: "attachment.html", typ: "text/html", size: 72, data: "<html><body><table><tr><td>Q1</td><td>42</td></tr></table></body></html>"}}},
	"html-two-parts-mixed.eml": {key: "html2-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "Body in HTML.", notText: []string{"Second"},
		files: []file{{name: "shot.png", typ: "image/png", size: 8}, {name: "attachment.html", typ: "text/html", size: 24, data: "<p>Second HTML part.</p>"}}},
	"html-named-part.eml": {key: "htmlname-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "The report is attached.", notText: []string{"Quarterly"},
		files: []file{{name: "report.html", typ: "text/html", size: 24, data: "<p>Quarterly figures</p>"}}},
	"reply-html-blockquote.eml": {key: "replyhtml-1@customer.test", from: "ann@customer.test", hasDate: true,
		text: "Thanks, it works now.\n\nSupport team, Monday morning:\nWe restarted the print server.", visible: "Thanks, it works now."},
	"header-8bit-gb2312.eml": {key: "8bitgb-1@customer.test", from: "li@customer.test", subject: "服务器故障报告", text: "服务器无法访问。",
		files: []file{{name: "报告.pdf", typ: "application/pdf", size: 4, data: "%PDF"}}},
	"header-8bit-shift-jis.eml": {key: "8bitsjis-1@customer.test", from: "taro@customer.test", subject: "請求書について", text: "請求書が届きません。",
		files: []file{{name: "見積書.pdf", typ: "application/pdf", size: 4, data: "%PDF"}}},
	"header-8bit-koi8-r.eml": {key: "8bitkoi-1@customer.test", from: "ivan@customer.test", subject: "Проблема с сайтом", text: "Сайт не работает."},
	"header-8bit-undeclared-gb2312.eml": {key: "8bitgbu-1@customer.test", from: "li@customer.test", subject: "关于服务器故障的紧急报告",
		text:  "我们的服务器从昨天晚上开始无法访问",
		files: []file{{name: "服务器日志.pdf", typ: "application/pdf", size: 4, data: "%PDF"}}},
	"header-8bit-undeclared-koi8-r.eml": {key: "8bitkoiu-1@customer.test", from: "ivan@customer.test", subject: "Наш сайт не работает со вчерашнего вечера",
		text: "Здравствуйте! Наш сайт не работает"},
	"base64-broken-final-group.eml": {key: "b64pad-1@customer.test", from: "ann@customer.test", hasDate: true, text: "Hello ABCD",
		files: []file{{name: "three.bin", typ: "application/octet-stream", size: 5, data: "ABCDE"}, {name: "short-pad.bin", typ: "application/octet-stream", size: 4, data: "ABCD"}}},
	"qp-crlf-attachment.eml": {key: "qpcrlf-1@customer.test", from: "ann@customer.test", hasDate: true, text: "Data attached.",
		files: []file{{name: "data.csv", typ: "text/csv", size: 30, data: "id;price=\u20ac\r\nsoftbreak;x\r\n2;3"}}},
	"crlf-8bit-attachment.eml": {key: "crlf8-1@customer.test", from: "ann@customer.test", hasDate: true, text: "Notes attached.",
		files: []file{{name: "notes.txt", typ: "text/plain", size: 25, data: "Gr\xfc\xdfe\r\nZeile zwei\r\n\r\nEnde"}}},
}

// TestParse_Hostile runs every hand-made message of testdata/hostile through Parse and
// checks what it made of it; every file has an expectation and every expectation a file.
func TestParse_Hostile(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 40 {
		t.Fatalf("%d hostile messages, want at least 40", len(paths))
	}
	seen := map[string]bool{}
	for _, path := range paths {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := hostileWant[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			in, err := Parse(raw, Options{})
			checkInbound(t, raw, in, err, w)
		})
	}
	for name := range hostileWant {
		if !seen[name] {
			t.Errorf("expectation for %s, which is not in testdata/hostile", name)
		}
	}
}

func checkInbound(t *testing.T, raw []byte, in gateway.Inbound, err error, w want) {
	t.Helper()
	checkValid(t, in)
	switch {
	case w.err != nil && !errors.Is(err, w.err):
		t.Errorf("err = %v, want %v", err, w.err)
	case w.errText != "" && (err == nil || !strings.Contains(err.Error(), w.errText)):
		t.Errorf("err = %v, want one saying %q", err, w.errText)
	case w.err == nil && w.errText == "" && err != nil:
		t.Errorf("err = %v, want none", err)
	}
	if in.Channel != core.ChannelEmail {
		t.Errorf("Channel = %q", in.Channel)
	}
	if w.key == "hash" {
		sum := sha256.Sum256(raw)
		w.key = "sha256:" + hex.EncodeToString(sum[:])
	}
	if w.key != "" && in.Key != w.key {
		t.Errorf("Key = %q, want %q", in.Key, w.key)
	}
	if in.From != w.from {
		t.Errorf("From = %q, want %q", in.From, w.from)
	}
	if w.subject != "" && in.Subject != w.subject {
		t.Errorf("Subject = %q, want %q", in.Subject, w.subject)
	}
	if !strings.Contains(in.Text, w.text) {
		t.Errorf("Text = %q, want it to hold %q", in.Text, w.text)
	}
	if w.visible != "" && in.Visible != w.visible {
		t.Errorf("Visible = %q, want %q", in.Visible, w.visible)
	}
	for _, s := range w.notText {
		if strings.Contains(in.Text, s) {
			t.Errorf("Text = %q, holds %q", in.Text, s)
		}
	}
	if w.to != nil && !slices.Equal(in.To, w.to) {
		t.Errorf("To = %q, want %q", in.To, w.to)
	}
	if !slices.Equal(in.InReplyTo, w.inReplyTo) {
		t.Errorf("InReplyTo = %q, want %q", in.InReplyTo, w.inReplyTo)
	}
	if !slices.Equal(in.References, w.references) {
		t.Errorf("References = %q, want %q", in.References, w.references)
	}
	if in.Date.IsZero() == w.hasDate {
		t.Errorf("Date = %v, want a date: %v", in.Date, w.hasDate)
	}
	if in.Automatic != w.automatic {
		t.Errorf("Automatic = %v, want %v", in.Automatic, w.automatic)
	}
	if in.NullSender != w.nullSender {
		t.Errorf("NullSender = %v, want %v", in.NullSender, w.nullSender)
	}
	switch {
	case w.report == nil && in.Report != nil:
		t.Errorf("Report = %+v, want none", *in.Report)
	case w.report != nil && in.Report == nil:
		t.Errorf("no Report, want %+v", *w.report)
	case w.report != nil && *in.Report != *w.report:
		t.Errorf("Report = %+v, want %+v", *in.Report, *w.report)
	}
	if len(in.Attachments) != len(w.files) {
		var names []string
		for _, f := range in.Attachments {
			names = append(names, f.Name)
		}
		t.Fatalf("%d attachments %q, want %d", len(in.Attachments), names, len(w.files))
	}
	for i, f := range in.Attachments {
		wf := w.files[i]
		if f.Name != wf.name || f.ContentType != wf.typ || f.Size != wf.size || f.TooLarge != wf.tooLarge {
			t.Errorf("attachment %d = {%q %q %d tooLarge=%v}, want {%q %q %d tooLarge=%v}", i,
				f.Name, f.ContentType, f.Size, f.TooLarge, wf.name, wf.typ, wf.size, wf.tooLarge)
		}
		if f.TooLarge && f.Data != nil {
			t.Errorf("attachment %d is TooLarge but holds %d bytes", i, len(f.Data))
		}
		if !f.TooLarge && int64(len(f.Data)) != f.Size {
			t.Errorf("attachment %d: Size %d, %d bytes of data", i, f.Size, len(f.Data))
		}
		if wf.data != "" && string(f.Data) != wf.data {
			t.Errorf("attachment %d data = %q, want %q", i, f.Data, wf.data)
		}
	}
}

// checkValid asserts what holds of every result, error or not: valid UTF-8 everywhere a
// person reads, safe file names, a key.
func checkValid(t testing.TB, in gateway.Inbound) {
	t.Helper()
	if in.Key == "" {
		t.Errorf("empty Key")
	}
	for field, s := range map[string]string{"Key": in.Key, "From": in.From, "Subject": in.Subject, "Text": in.Text} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", field, s)
		}
	}
	if strings.ContainsAny(in.Subject, "\r\n\x00") {
		t.Errorf("Subject holds a control character: %q", in.Subject)
	}
	for _, f := range in.Attachments {
		if !utf8.ValidString(f.Name) || f.Name != core.SafeFileName(f.Name) || f.Name == "" {
			t.Errorf("unsafe file name %q", f.Name)
		}
	}
	for _, s := range append(append(append([]string{}, in.To...), in.InReplyTo...), in.References...) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n<>") {
			t.Errorf("bad address or message ID %q", s)
		}
	}
}
