package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// typicalReply is a 40-line reply as it arrives: a few lines of answer, a signature and the
// quoted notification under a Gmail attribution.
var typicalReply = strings.Repeat("The export still fails when I pick more than 500 rows, see below.\n", 6) +
	"\nBest regards,\nAnn Example\nExample Ltd.\n\n" +
	"On Mon, Jan 5, 2026 at 10:00 AM Support <support@helpdesk.test> wrote:\n\n" +
	strings.Repeat("> Hello Ann, thank you for your message about the export of the report.\n", 27)

// fold turns every run of white space into one space and trims the ends.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

func BenchmarkVisible(b *testing.B) {
	b.Run("typical", func(b *testing.B) {
		for b.Loop() {
			Visible(typicalReply)
		}
	})
	b.Run("t2bot-002", func(b *testing.B) {
		raw, err := os.ReadFile(filepath.Join(corpusDir(), "t2bot", "002.txt"))
		if err != nil {
			b.Skipf("corpus not available: %v", err)
		}
		text := string(raw)
		b.ResetTimer()
		for b.Loop() {
			Visible(text)
		}
	})
}
