package telegram

import "testing"

// Subjects built from chat text are one line: control characters and line separators
// become spaces instead of refusing what the customer wrote.
func TestSubjects_ControlCharactersBecomeSpaces(t *testing.T) {
	tests := []struct{ in, typed, first string }{
		{"Help\r\nStatus: Resolved", "Help Status: Resolved", "Help"},
		{"Help\u2028Status: Resolved", "Help Status: Resolved", "Help Status: Resolved"},
		{"Help\u0085next\u2029end", "Help next end", "Help next end"},
		{"nul\x00esc\x1b[2Jdel\x7f", "nul esc [2Jdel", "nul esc [2Jdel"},
		{"\ttabbed\t subject ", "tabbed subject", "tabbed subject"},
		{"\u2028\x00", "", "Telegram: empty message"},
	}
	for _, tt := range tests {
		got, problem := checkSubject(tt.in)
		if got != tt.typed || (tt.typed == "") != (problem != "") {
			t.Errorf("checkSubject(%q) = %q, %q; want %q", tt.in, got, problem, tt.typed)
		}
		if got := subjectOf(tt.in, nil); got != tt.first {
			t.Errorf("subjectOf(%q) = %q, want %q", tt.in, got, tt.first)
		}
	}
	if got := subjectOf("", []fileRef{{Name: "bill\u202Efdp.exe\r\nx", MIME: "application/pdf"}}); got != "Telegram: file billfdp.exex" {
		t.Errorf("subject of a document = %q", got)
	}
}
