package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/helpdeskd/helpdeskd/gateway"
)

func TestVisible(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"our marker, Thunderbird style", "Thanks, that fixed it.\n\nOn 1/2/2030 10:00, Support wrote:\n> " + gateway.ReplyMarker + "\n>\n> Hello Ann,\n> Support replied\n", "Thanks, that fixed it."},
		{"our marker, Gmail style wrapped attribution", "Still broken.\r\n\r\nOn Mon, Jan 2, 2030 at 10:00 AM Support <\r\nsupport@helpdesk.test> wrote:\r\n\r\n> " + gateway.ReplyMarker + "\r\n> old\r\n", "Still broken."},
		{"marker not quoted (Outlook)", "Yes please.\n\n________________________________\nFrom: Support\nSent: today\n" + gateway.ReplyMarker + "\nHello", "Yes please."},
		{"no marker, trailing quote", "New info here.\n\n> earlier text\n> more\n", "New info here."},
		{"no marker, attribution then quote", "Answer.\nOn Tue, Bob wrote:\n> question\n", "Answer."},
		{"signature", "Body text\n-- \nAnn\nCEO", "Body text"},
		{"German client", "Danke.\n\nAm 01.02.2030 um 10:00 schrieb Support <s@x>:\n> alt", "Danke."},
		{"inline answers keep their quotes", "> question one\nanswer one\n> question two\nanswer two", "> question one\nanswer one\n> question two\nanswer two"},
		{"plain", "just text", "just text"},
	}
	for _, tt := range tests {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestVisible_Cases runs the hand-made mails in testdata/cases: name.txt (plain text) or
// name.html (through StripHTMLQuote first, as the mail parser does) against name.want.
func TestVisible_Cases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.want")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/cases: %v", err)
	}
	for _, want := range files {
		base := strings.TrimSuffix(want, ".want")
		t.Run(filepath.Base(base), func(t *testing.T) {
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if in, err := os.ReadFile(base + ".txt"); err == nil {
				got = Visible(string(in))
			} else if in, err := os.ReadFile(base + ".html"); err == nil {
				got = Visible(htmlText(t, string(in)))
			} else {
				t.Fatalf("no input for %s", want)
			}
			if fold(got) != fold(string(w)) {
				t.Errorf("got  %q\nwant %q", got, strings.TrimSpace(string(w)))
			}
		})
	}
}

// htmlText converts HTML to text the way the mail parser does: strip the quote, then take
// the text with a line break per block.
func htmlText(t testing.TB, src string) string {
	t.Helper()
	if s, found := StripHTMLQuote(src); found {
		src = s
	}
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return textOf(doc)
}

func TestStripHTMLQuote(t *testing.T) {
	tests := []struct {
		name, in  string
		found     bool
		gone, has string
	}{
		{"no quote", "<p>Hello</p>", false, "", "Hello"},
		{"plain blockquote is the writer's", "<p>Hi</p><blockquote>cited law</blockquote>", false, "", "cited law"},
		{"cite", `<p>Hi</p><blockquote type="cite">old</blockquote>`, true, "old", "Hi"},
		{"only a quote stays", `<blockquote type="cite">old</blockquote>`, false, "", "old"},
		{"gmail", `<div>Hi</div><div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div><blockquote class="gmail_quote">old</blockquote></div>`, true, "old", "Hi"},
		{"outlook tail", `<div>Hi</div><div><div style="border:none; border-top:solid #B5C4DF 1.0pt">From: S</div></div><p>old</p>`, true, "old", "Hi"},
		{"not html at all", "plain < text", false, "", "plain"},
	}
	for _, tt := range tests {
		got, found := StripHTMLQuote(tt.in)
		if found != tt.found {
			t.Errorf("%s: found = %v, want %v", tt.name, found, tt.found)
		}
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("%s: %q still in %q", tt.name, tt.gone, got)
		}
		if !strings.Contains(got, tt.has) {
			t.Errorf("%s: %q lost from %q", tt.name, tt.has, got)
		}
	}
}
