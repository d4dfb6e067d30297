package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/core"
)

// ReplyMarker heads every notification mail; everything from it down in a reply is the
// quoted history and is cut away.
const ReplyMarker = "##- Please type your reply above this line -##"

// tokenLen is the length of a reply token: 50 bits of HMAC, enough that guessing one
// for another customer's ticket is hopeless, short enough for an address.
const tokenLen = 10

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ReplyToken returns the token of a ticket's reply address for one recipient user: an HMAC
// of both under the server secret. userID 0 gives the token of the ticket alone, used for a
// recipient who is no user (and by notifications sent before tokens named their recipient).
func ReplyToken(secret []byte, ticketID, userID int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("helpdeskd reply token " + strconv.FormatInt(ticketID, 10)))
	if userID != 0 {
		m.Write([]byte(" user " + strconv.FormatInt(userID, 10)))
	}
	return strings.ToLower(tokenEncoding.EncodeToString(m.Sum(nil))[:tokenLen])
}

// ReplyAddress returns the address a recipient answers ticketID at:
// support+<ticket>-<user>-<token>@domain, or support+<ticket>-<token>@domain for userID 0.
// Since the token binds the recipient too, a reply to it from that user's address shows the
// sender received our notification: a forger of the From would have to have read it.
func ReplyAddress(support string, secret []byte, ticketID, userID int64) string {
	local, domain, ok := strings.Cut(support, "@")
	if !ok {
		return support
	}
	detail := strconv.FormatInt(ticketID, 10)
	if userID != 0 {
		detail += "-" + strconv.FormatInt(userID, 10)
	}
	return local + "+" + detail + "-" + ReplyToken(secret, ticketID, userID) + "@" + domain
}

// TicketFromAddress returns the ticket, and the recipient user it was made for (0 for none),
// of a reply address of support whose token is right; ok is false for any other address or a
// wrong token.
func TicketFromAddress(addr, support string, secret []byte) (ticketID, userID int64, ok bool) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	local, domain, ok := strings.Cut(addr, "@")
	slocal, sdomain, sok := strings.Cut(strings.ToLower(support), "@")
	if !ok || !sok || domain != sdomain {
		return 0, 0, false
	}
	detail, ok := strings.CutPrefix(local, slocal+"+")
	if !ok {
		return 0, 0, false
	}
	parts := strings.Split(detail, "-")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, 0, false
	}
	ids := make([]int64, len(parts)-1)
	for i := range ids {
		n, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		ids[i] = n
	}
	ticketID = ids[0]
	if len(ids) == 2 {
		userID = ids[1]
	}
	if !hmac.Equal([]byte(parts[len(parts)-1]), []byte(ReplyToken(secret, ticketID, userID))) {
		return 0, 0, false
	}
	return ticketID, userID, true
}

// NotificationMessageID is the Message-ID of notification id: "helpdeskd.n<32 hex>@domain",
// an HMAC of the id under a key drawn when the process starts. It reveals nothing (an
// ID with the notification's number let anyone count the desk's mail) and cannot be
// guessed, yet one process gives one notification one ID. The dispatcher stores it
// (message_ref) before the first send, so retries after a restart reuse it, and inbound
// mail finds the notification by that stored value, never by parsing the ID.
func NotificationMessageID(id int64, domain string) string {
	m := hmac.New(sha256.New, messageIDKey[:])
	m.Write([]byte("helpdeskd notification " + strconv.FormatInt(id, 10) + "@" + domain))
	return "helpdeskd.n" + hex.EncodeToString(m.Sum(nil)[:16]) + "@" + domain
}

// messageIDKey keys NotificationMessageID. It is drawn once and never changed: the only
// package state, and read-only.
var messageIDKey = func() (k [32]byte) {
	if _, err := rand.Read(k[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return k
}()

// legacyNotificationMessageID is the Message-ID notifications had before it was random,
// "helpdeskd.n<id>@domain" (a decimal id never has 32 digits, so the forms cannot be
// confused): replies to mail sent then still carry it.
func legacyNotificationMessageID(id int64, domain string) string {
	return "helpdeskd.n" + strconv.FormatInt(id, 10) + "@" + domain
}

// ThreadRoot is the Message-ID every notification of a ticket names in References, so
// mail clients group the whole ticket as one thread. It names the ticket openly: the
// number is in every subject ([#id]) and reply address anyway, and a root that never
// changes keeps threads whole across restarts and key changes.
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
	// Whatever the channel let through, a subject is one line: control characters and line
	// separators become spaces (core refuses them).
	s = strings.Join(strings.Fields(core.CleanLine(strings.ToValidUTF8(s, ""))), " ")
	if utf8.RuneCountInString(s) > core.MaxSubjectChars {
		s = strings.TrimSpace(string([]rune(s)[:core.MaxSubjectChars]))
	}
	if s == "" {
		return "(no subject)"
	}
	return s
}
