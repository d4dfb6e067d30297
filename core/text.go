package core

import (
	"strings"
	"unicode"
)

// A subject or a name is one line of text wherever it is shown: a notification's body, a
// Telegram message, the panel, a log line. A control character or a Unicode line break in
// it lets the writer start a line of their own there ("Status: Resolved", a forged staff
// answer), so the API refuses them and the chat channels replace them.

// lineControl reports whether r may not appear in a one-line field: C0 controls, DEL, C1
// controls (NEL among them) and the Unicode line and paragraph separators.
func lineControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// oneLineField is how a one-line field is taken before it is checked: TAB, which
// spreadsheets and copy-paste bring along, is a space; the ends are trimmed.
func oneLineField(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\t", " "))
}

// hasLineControl reports whether s holds a character lineControl refuses.
func hasLineControl(s string) bool {
	return strings.ContainsFunc(s, lineControl)
}

// lineControlMsg is the field error for such a character.
const lineControlMsg = "must be one line without control characters"

// CleanLine replaces every control character and line separator of s by a space, for
// channels that build a subject from free text (a chat message), where refusing would
// lose what the customer wrote.
func CleanLine(s string) string {
	return strings.Map(func(r rune) rune {
		if lineControl(r) {
			return ' '
		}
		return r
	}, s)
}

// bidiControl reports whether r changes the direction text is shown in. In a file name
// they make "invoice\u202Egpj.exe" display as "invoiceexe.jpg".
func bidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return r == '\u200E' || r == '\u200F' || r == '\u061C'
}
