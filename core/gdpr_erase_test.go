package core

import "testing"

func TestScrubber_WholeWordsAnyCase(t *testing.T) {
	u := &User{ID: 7, Email: "ann.lee@example.com", Name: "Ann Lee-Møller"}
	scrub := scrubber(u)
	tests := []struct{ in, want string }{
		{"Hello Ann Lee-Møller,", "Hello Erased user,"},
		{"hi ANN, mail ann.lee@example.com or ANN.LEE@EXAMPLE.COM", "hi Erased user, mail erased-7@erased.invalid or erased-7@erased.invalid"},
		{"On Monday, Ann Lee-Møller <ann.lee@example.com> wrote:", "On Monday, Erased user <erased-7@erased.invalid> wrote:"},
		{"Møller's host", "Erased user's host"},
		{"Anna and Annex and Leeds stay", "Anna and Annex and Leeds stay"},
		{"Lee alone is a word of the name", "Erased user alone is a word of the name"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A name word shorter than minNamePart stays: it is too often part of other text.
	if got := scrubber(&User{ID: 8, Name: "Al Smith"})("Al Smith, Al, Smith"); got != "Erased user, Al, Erased user" {
		t.Errorf("short name word: %q", got)
	}
}
