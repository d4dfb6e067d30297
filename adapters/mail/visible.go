package mail

import (
	"strings"

	"github.com/helpdeskd/helpdeskd/adapters/mail/reply"
)

// visibleText is what the writer of a reply wrote: reply.Visible of the whole text, unless
// the body's HTML marks its quote (a blockquote, Gmail's or Outlook's quote container),
// which is surer than guessing from attribution lines in the text; then the text of the
// HTML above the quote, when it is not blank.
func visibleText(text, bodyHTML string, max int64) string {
	v := reply.Visible(text)
	if bodyHTML == "" {
		return v
	}
	if stripped, ok := reply.StripHTMLQuote(bodyHTML); ok {
		if hv := reply.Visible(cleanText(htmlToText(stripped))); strings.TrimSpace(hv) != "" {
			return cutUTF8(hv, max)
		}
	}
	return v
}
