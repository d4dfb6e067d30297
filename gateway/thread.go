package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"helpdeskd/core"
)

// ReplyMarker heads every notification mail; everything from it down in a reply is the
// quoted history and is cut away.
const ReplyMarker = "##- Please type your reply above this line -##"

// tokenLen is the length of a reply token: 50 bits of HMAC, enough that guessing one
// for another customer's ticket is hopeless, short enough for an address.
const tokenLen = 10

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ReplyToken returns the token of a ticket: an HMAC of its ID under the server secret.
func ReplyToken(secret []byte, ticketID int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("helpdeskd reply token " + strconv.FormatInt(ticketID, 10)))
	return strings.ToLower(tokenEncoding.EncodeToString(m.Sum(nil))[:tokenLen])
}

// ReplyAddress returns support+<id>-<token>@domain for the support address.
func ReplyAddress(support string, secret []byte, ticketID int64) string {
	local, domain, ok := strings.Cut(support, "@")
	if !ok {
		return support
	}
	return local + "+" + strconv.FormatInt(ticketID, 10) + "-" + ReplyToken(secret, ticketID) + "@" + domain
}

// TicketFromAddress returns the ticket ID of a reply address of support whose token is
// right; ok is false for any other address or a wrong token.
func TicketFromAddress(addr, support string, secret []byte) (int64, bool) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	local, domain, ok := strings.Cut(addr, "@")
	slocal, sdomain, sok := strings.Cut(strings.ToLower(support), "@")
	if !ok || !sok || domain != sdomain {
		return 0, false
	}
	detail, ok := strings.CutPrefix(local, slocal+"+")
	if !ok {
		return 0, false
	}
	idText, token, ok := strings.Cut(detail, "-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	if !hmac.Equal([]byte(token), []byte(ReplyToken(secret, id))) {
		return 0, false
	}
	return id, true
}

// ThreadRoot is the Message-ID every notification of a ticket names in References, so
// mail clients group the whole ticket as one thread.
func ThreadRoot(ticketID int64, domain string) string {
	return "helpdeskd.ticket." + strconv.FormatInt(ticketID, 10) + "@" + domain
}

// TicketFromThreadRoot parses a ThreadRoot of our domain.
func TicketFromThreadRoot(id, domain string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(id), "helpdeskd.ticket.")
	if !ok {
		return 0, false
	}
	num, dom, ok := strings.Cut(rest, "@")
	if !ok || dom != strings.ToLower(domain) {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

var subjectTag = regexp.MustCompile(`\[#(\d{1,18})\]`)

// TicketFromSubject finds a [#id] tag.
func TicketFromSubject(subject string) (int64, bool) {
	m := subjectTag.FindStringSubmatch(subject)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return n, err == nil && n > 0
}

// replyPrefix matches the reply and forward prefixes of common mail clients and languages,
// with optional counters ("Re[2]:", "RE: FW:").
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fwd?|aw|wg|sv|vs|antw|doorst|ref|tr|rif|r|odp|fs)\s*(\[\d+\]|\(\d+\))?\s*:\s*`)

// CleanSubject removes reply/forward prefixes and our [#id] tag, folds white space, and
// cuts to core.MaxSubjectChars; "(no subject)" if nothing is left.
func CleanSubject(s string) string {
	s = subjectTag.ReplaceAllString(s, "")
	for {
		t := replyPrefix.ReplaceAllString(s, "")
		t = strings.TrimSpace(subjectTag.ReplaceAllString(t, ""))
		if t == s {
			break
		}
		s = t
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	if utf8.RuneCountInString(s) > core.MaxSubjectChars {
		s = strings.TrimSpace(string([]rune(s)[:core.MaxSubjectChars]))
	}
	if s == "" {
		return "(no subject)"
	}
	return s
}

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

// StripQuoted returns the new text of a reply: with our marker, everything from the marker
// (and the attribution line above it) is cut, exactly; without it, best effort: the text
// ends at the first attribution line followed by a quote, at a trailing block of "> "
// lines, or at a "-- " signature separator.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i, l := range lines {
		if strings.Contains(l, ReplyMarker) || strings.Contains(l, strings.TrimSuffix(ReplyMarker, " -##")) {
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
