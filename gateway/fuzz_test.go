package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzThreading feeds the threading and text rules with arbitrary subjects, bodies and
// addresses: they must never panic, and what they return must hold their promises.
func FuzzThreading(f *testing.F) {
	f.Add("Re: [#12] SSL broken", "Thanks!\n\nOn Mon, Support wrote:\n> "+ReplyMarker+"\n> old", "support+12-abcdefghij@helpdesk.test")
	f.Add("RE: FW: Aw: [#9999999999999999999] x", "> only quotes\n> here", "SUPPORT+1-@HELPDESK.TEST")
	f.Add("\xff\xfe[#1]\r\nBcc: evil@x", "-- \n", "support+-1--@helpdesk.test")
	f.Add(strings.Repeat("Re: ", 500), strings.Repeat("> a\n", 1000), "@")
	secret := []byte("fuzz-secret-0123456789")
	f.Fuzz(func(t *testing.T, subject, text, addr string) {
		s := CleanSubject(subject)
		if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 200 || strings.ContainsAny(s, "\r\n") {
			t.Fatalf("CleanSubject(%q) = %q", subject, s)
		}
		if id, ok := TicketFromSubject(subject); ok && id <= 0 {
			t.Fatalf("TicketFromSubject(%q) = %d", subject, id)
		}
		if id, user, ok := TicketFromAddress(addr, "support@helpdesk.test", secret); ok {
			if want := ReplyAddress("support@helpdesk.test", secret, id, user); !strings.EqualFold(strings.TrimSpace(addr), want) {
				t.Fatalf("address %q accepted for ticket %d user %d, but its reply address is %q", addr, id, user, want)
			}
		}
		if id, ok := TicketFromThreadRoot(addr, "helpdesk.test"); ok && id <= 0 {
			t.Fatalf("thread root %q gave %d", addr, id)
		}
	})
}
