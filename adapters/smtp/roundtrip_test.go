package smtp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	mailparse "github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// TestRender_ParsesBack: what the sender writes, the inbound parser reads back as it was
// meant, so a notification answered or bounced is recognised.
func TestRender_ParsesBack(t *testing.T) {
	snd, err := New(Options{Host: "mx.helpdesk.test", From: "support@helpdesk.test", FromName: "Support Desk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, html := range []string{"", "<p>Grüße</p>"} {
		out := gateway.Outgoing{To: "Ann@Customer.Test", Subject: "[#7] Grüße – Ihre Anfrage ✓ " + strings.Repeat("lang ", 20),
			Text: "Hallo Ann,\n\nÄnderungen: ✓\n" + strings.Repeat("x", 200) + "\n", HTML: html,
			MessageID: "helpdeskd.n42@helpdesk.test", InReplyTo: "helpdeskd.t7@helpdesk.test",
			References: []string{"first@customer.test", "helpdeskd.t7@helpdesk.test"}, ReplyTo: "support+7-abc@helpdesk.test"}
		raw, err := snd.Render(out)
		if err != nil {
			t.Fatal(err)
		}
		in, err := mailparse.Parse(raw, mailparse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{out.MessageID, "support@helpdesk.test", strings.TrimSpace(out.Subject), out.Text}
		got := []string{in.Key, in.From, in.Subject, in.Text}
		if !slices.Equal(got, want) {
			t.Errorf("HTML %q: parsed back %q, want %q", html, got, want)
		}
		if !slices.Equal(in.To, []string{"ann@customer.test"}) || !slices.Equal(in.InReplyTo, []string{out.InReplyTo}) ||
			!slices.Equal(in.References, out.References) || !in.Automatic || in.NullSender || len(in.Attachments) != 0 {
			t.Errorf("parsed back %+v", in)
		}
	}
}

// TestSend_PostfixBounceParsesAsReportOnTheNotification: a notification to an address the
// domain does not have comes back from Postfix as a delivery report that the inbound
// parser ties to the notification's Message-ID. The bounce goes to the envelope sender,
// dan, whose INBOX no other test reads.
func TestSend_PostfixBounceParsesAsReportOnTheNotification(t *testing.T) {
	s := liveStack(t)
	snd, err := New(Options{Host: s.smtpHost, Port: s.smtpPort, Security: SecurityNone, From: "dan@" + s.domain, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	tok := token(t)
	rcpt := "nobody-" + tok + "@" + s.domain
	out := gateway.Outgoing{To: rcpt, Subject: "[#9] " + tok, Text: "x", MessageID: "helpdeskd.n" + tok + "@" + s.domain}
	if err := snd.Send(ctx, out); err != nil {
		t.Fatal(err) // accepted: the domain is ours, Dovecot refuses the user later
	}
	raw := s.find(t, "dan", tok, &imap.SearchCriteria{Text: []string{tok}})
	in, err := mailparse.Parse(raw, mailparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.DeliveryReport{OriginalMessageID: out.MessageID, Action: "failed", Recipient: rcpt, Status: "5.1.1"}
	if in.Report == nil || *in.Report != want || !in.Automatic || !in.NullSender {
		t.Errorf("bounce parsed as report %+v automatic %v null sender %v; want %+v\n%s", in.Report, in.Automatic, in.NullSender, want, raw)
	}
}
