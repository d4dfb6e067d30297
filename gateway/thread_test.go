package gateway

import (
	"strings"
	"testing"
)

func TestReplyAddress_RoundTrip(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	addr := ReplyAddress("support@helpdesk.test", secret, 42)
	if !strings.HasPrefix(addr, "support+42-") || !strings.HasSuffix(addr, "@helpdesk.test") {
		t.Fatalf("address %q", addr)
	}
	if id, ok := TicketFromAddress(strings.ToUpper(addr), "support@helpdesk.test", secret); !ok || id != 42 {
		t.Fatalf("parse %q: %d %v", addr, id, ok)
	}
	forged := strings.Replace(addr, "+42-", "+43-", 1)
	bad := []string{
		forged,                                // token of another ticket
		"support+42-aaaaaaaaaa@helpdesk.test", // guessed token
		"support@helpdesk.test",
		"other+42-" + ReplyToken(secret, 42) + "@helpdesk.test",
		"support+42-" + ReplyToken(secret, 42) + "@elsewhere.test",
		"support+-1-x@helpdesk.test",
	}
	for _, a := range bad {
		if id, ok := TicketFromAddress(a, "support@helpdesk.test", secret); ok {
			t.Errorf("%q accepted as ticket %d", a, id)
		}
	}
	if _, ok := TicketFromAddress(addr, "support@helpdesk.test", []byte("another secret!!")); ok {
		t.Error("token valid under another secret")
	}
}

func TestCleanSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Re: [#12] SSL broken", "SSL broken"},
		{"RE: FW: Aw: WG: hello", "hello"},
		{"Re[2]: Fwd: x", "x"},
		{"  spaces   inside  ", "spaces inside"},
		{"", "(no subject)"},
		{"Re:", "(no subject)"},
		{"Reply needed", "Reply needed"},
		{"SV: Antw: Vs: ok", "ok"},
		{strings.Repeat("ж", 250), strings.Repeat("ж", 200)},
	}
	for _, tt := range tests {
		if got := CleanSubject(tt.in); got != tt.want {
			t.Errorf("CleanSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTicketFromSubjectAndThreadRoot(t *testing.T) {
	if id, ok := TicketFromSubject("Re: [#123] Hello"); !ok || id != 123 {
		t.Errorf("subject tag: %d %v", id, ok)
	}
	if _, ok := TicketFromSubject("#123 without brackets"); ok {
		t.Error("bare #id taken as a tag")
	}
	if id, ok := TicketFromThreadRoot(ThreadRoot(7, "helpdesk.test"), "helpdesk.test"); !ok || id != 7 {
		t.Errorf("thread root: %d %v", id, ok)
	}
	if _, ok := TicketFromThreadRoot(ThreadRoot(7, "evil.test"), "helpdesk.test"); ok {
		t.Error("thread root of another domain accepted")
	}
}

func TestStripQuoted(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"our marker, Thunderbird style", "Thanks, that fixed it.\n\nOn 1/2/2030 10:00, Support wrote:\n> " + ReplyMarker + "\n>\n> Hello Ann,\n> Support replied\n", "Thanks, that fixed it."},
		{"our marker, Gmail style wrapped attribution", "Still broken.\r\n\r\nOn Mon, Jan 2, 2030 at 10:00 AM Support <\r\nsupport@helpdesk.test> wrote:\r\n\r\n> " + ReplyMarker + "\r\n> old\r\n", "Still broken."},
		{"marker not quoted (Outlook)", "Yes please.\n\n________________________________\nFrom: Support\nSent: today\n" + ReplyMarker + "\nHello", "Yes please."},
		{"no marker, trailing quote", "New info here.\n\n> earlier text\n> more\n", "New info here."},
		{"no marker, attribution then quote", "Answer.\nOn Tue, Bob wrote:\n> question\n", "Answer."},
		{"signature", "Body text\n-- \nAnn\nCEO", "Body text"},
		{"German client", "Danke.\n\nAm 01.02.2030 um 10:00 schrieb Support <s@x>:\n> alt", "Danke."},
		{"inline answers keep their quotes", "> question one\nanswer one\n> question two\nanswer two", "> question one\nanswer one\n> question two\nanswer two"},
		{"plain", "just text", "just text"},
	}
	for _, tt := range tests {
		if got := StripQuoted(tt.in); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
