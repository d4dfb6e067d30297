package telegram_test

import (
	"strings"
	"testing"
)

// A subject typed in the chat with a line break or a control character in it opens the
// ticket with those as spaces (the API would refuse them; a chat keeps the words).
func TestNewTicket_SubjectControlCharactersBecomeSpaces(t *testing.T) {
	d := newDesk(t, emulatorURL(t), 0)
	d.start()
	d.link("ann", 1, annTG)

	d.e.say(annTG, "/new Mail down\u2028Status: Resolved\x1b[2J", nil)
	d.e.expect(annTG.Chat, "New ticket: Mail down Status: Resolved [2J")
	d.e.say(annTG, "Nothing arrives since 9:00.", nil)
	id := ticketIn(t, d.e.expect(annTG.Chat, "is open: Mail down Status: Resolved [2J"))

	d.e.say(annTG, "Webmail\u0085broken\nsince today", nil)
	q := d.e.expect(annTG.Chat, "Is this a new ticket")
	d.e.press(annTG, q, q.button("New ticket"))
	second := ticketIn(t, d.e.expect(annTG.Chat, "is open: Webmail broken"))

	for want, id := range map[string]int64{"Mail down Status: Resolved [2J": id, "Webmail broken": second} {
		tk := d.ticket("ann", 1, id)
		if tk.Subject != want || strings.ContainsFunc(tk.Subject, func(r rune) bool { return r < ' ' || r == '\u2028' || r == '\u0085' }) {
			t.Errorf("ticket %d subject %q, want %q", id, tk.Subject, want)
		}
	}
}
