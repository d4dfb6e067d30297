package gateway

import (
	"strings"
	"testing"
)

func TestReplyAddress_RoundTrip(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	const support = "support@helpdesk.test"
	for _, user := range []int64{0, 7} {
		addr := ReplyAddress(support, secret, 42, user)
		if !strings.HasPrefix(addr, "support+42-") || !strings.HasSuffix(addr, "@helpdesk.test") {
			t.Fatalf("address %q", addr)
		}
		if id, u, ok := TicketFromAddress(strings.ToUpper(addr), support, secret); !ok || id != 42 || u != user {
			t.Fatalf("parse %q: %d %d %v", addr, id, u, ok)
		}
		if _, _, ok := TicketFromAddress(addr, support, []byte("another secret!!")); ok {
			t.Errorf("%q: token valid under another secret", addr)
		}
	}
	mine := ReplyAddress(support, secret, 42, 7)
	bad := []string{
		strings.Replace(ReplyAddress(support, secret, 42, 0), "+42-", "+43-", 1), // token of another ticket
		strings.Replace(mine, "+42-7-", "+42-8-", 1),                             // token of another recipient
		strings.Replace(mine, "+42-7-", "+42-", 1),                               // the recipient dropped
		"support+42-aaaaaaaaaa@helpdesk.test",                                    // guessed token
		"support@helpdesk.test",
		"other+42-" + ReplyToken(secret, 42, 0) + "@helpdesk.test",
		"support+42-" + ReplyToken(secret, 42, 0) + "@elsewhere.test",
		"support+42-7-8-" + ReplyToken(secret, 42, 7) + "@helpdesk.test",
		"support+-1-x@helpdesk.test",
		"support+42--" + ReplyToken(secret, 42, 0) + "@helpdesk.test",
	}
	for _, a := range bad {
		if id, u, ok := TicketFromAddress(a, support, secret); ok {
			t.Errorf("%q accepted as ticket %d user %d", a, id, u)
		}
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

func TestCleanSubject_ControlCharactersBecomeSpaces(t *testing.T) {
	for _, in := range []string{"Site\x1bdown", "Site\u0085down", "Site\u2028down", "Site\x00down", "Site\u009bdown"} {
		if got := CleanSubject(in); got != "Site down" {
			t.Errorf("CleanSubject(%q) = %q, want %q", in, got, "Site down")
		}
	}
}
