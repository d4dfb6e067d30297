package reply

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/gateway"
)

var fuzzSeeds = []string{
	"Thanks, that fixed it.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Support <support@helpdesk.test> wrote:\n> " + gateway.ReplyMarker + "\n> old\n",
	"Still broken.\r\n\r\nAm 05.01.2026 um 10:00 schrieb Support <\r\nsupport@helpdesk.test>:\r\n\r\n> alt\r\n",
	"Yes.\n\n________________________________\nFrom: Support\nSent: Monday\nTo: Ann\nSubject: x\n\nold",
	"On Mon, Support <s@x> wrote:\n> old\n> old\n\nMy answer below\n\nSent from my iPhone",
	"> q1\na1\n> q2\na2\n-- \nAnn",
	"Thanks! On Mon, Jan 5, 2026 Bob <b@x> wrote:\n> old",
	"---------- Forwarded message ---------\nFrom: Carol\nDate: today\n\nbody",
	"On the other hand:\nwith regards to 2024-01-15 14:30:25\n--\n",
	"在 2016年11月8日，下午2:23，Test user <test@example.com> 写道：\n\nold",
}

// FuzzVisible checks that Visible never panics and only ever returns the writer's text:
// every line it returns is, modulo whitespace, part of a line of the input, in order.
func FuzzVisible(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Visible(in)
		if utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", got)
		}
		var inLines []string
		for _, l := range strings.Split(strings.ReplaceAll(in, "\r\n", "\n"), "\n") {
			inLines = append(inLines, fold(l))
		}
		at := 0
		for _, l := range strings.Split(got, "\n") {
			fl := fold(l)
			if fl == "" {
				continue
			}
			for at < len(inLines) && !strings.Contains(inLines[at], fl) {
				at++
			}
			if at == len(inLines) {
				t.Fatalf("line %q of the result is not, in order, in the input %q", l, in)
			}
			at++
		}
	})
}

// FuzzStripHTMLQuote checks that StripHTMLQuote never panics, keeps valid UTF-8 valid and
// returns its input unchanged when it finds no quote.
func FuzzStripHTMLQuote(f *testing.F) {
	f.Add(`<div>Hi</div><div class="gmail_quote"><blockquote class="gmail_quote">old</blockquote></div>`)
	f.Add(`<p>Hi</p><div class="moz-cite-prefix">On Mon wrote:</div><blockquote type="cite">old</blockquote>`)
	f.Add(`<div>Hi</div><hr><div id="divRplyFwdMsg">From: S</div><div>old</div>`)
	f.Add(`<div id="appendonsend"></div>`)
	f.Add(`<div style="border:none;border-top:solid #E1E1E1 1.0pt">From:</div>`)
	f.Add(`<body id="divRplyFwdMsg">x</body>`)
	f.Fuzz(func(t *testing.T, in string) {
		got, found := StripHTMLQuote(in)
		if !found && got != in {
			t.Fatalf("not found, but changed: %q -> %q", in, got)
		}
		if utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", got)
		}
	})
}
