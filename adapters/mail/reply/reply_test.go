package reply

import (
	"testing"

	"helpdeskd/gateway"
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
