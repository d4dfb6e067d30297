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
