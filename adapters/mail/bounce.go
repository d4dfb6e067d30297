package mail

import (
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// Bounces that are not RFC 3464 reports. qmail, older Exim, Exchange and many appliances
// still return plain text; what they share is a mail-system sender and a subject (or Exim's
// X-Failed-Recipients) that says so.

// bounceSubjects are how mail systems begin the subjects of their bounces (compared in lower
// case), with the action each means; a delay is reported, never counted as a failure.
var bounceSubjects = []struct{ prefix, action string }{
	{"undelivered mail returned to sender", "failed"},    // Postfix
	{"returned mail:", "failed"},                         // sendmail
	{"mail delivery failed", "failed"},                   // Exim
	{"delivery status notification (failure)", "failed"}, // Gmail, Exchange
	{"delivery status notification (delay)", "delayed"},
	{"delivery status notification", "failed"},
	{"failure notice", "failed"}, // qmail
	{"undeliverable", "failed"},  // Exchange: "Undeliverable: <subject>"
	{"undelivered mail", "failed"},
	{"delivery failure", "failed"},
	{"delivery has failed", "failed"},
	{"delivery notification: delivery has failed", "failed"}, // Lotus Notes
	{"mail system error - returned mail", "failed"},
	{"nondeliverable mail", "failed"},
	{"non-delivery", "failed"},
	{"unzustellbar", "failed"},         // Exchange, German
	{"non remis", "failed"},            // French
	{"no se puede entregar", "failed"}, // Spanish
	{"non recapitabile", "failed"},     // Italian
	{"onbestelbaar", "failed"},         // Dutch
	{"warning: could not send message", "delayed"},
	{"delayed mail", "delayed"},
}

// bounceOpenings are how bounce texts begin when their subject says nothing useful.
var bounceOpenings = []string{
	"hi. this is the qmail-send program",
	"this message was created automatically by mail delivery software",
	"this is the mail system at host",
	"your message did not reach some or all of the intended recipients",
	"delivery has failed to these recipients or groups",
}

// returnedMarkers start the copy of the returned message inside a bounce text; what follows
// is the original, not the report.
var returnedMarkers = []string{
	"below this line is a copy of the message",
	"this is a copy of the message",
	"original message follows",
	"original message headers",
	"------ this is a copy",
	"\nreturn-path:",
	"\nreceived:",
}

// What a bounce text says in prose: the returned message's Message-ID line, the recipients,
// the status code.
var (
	textMessageID = regexp.MustCompile(`(?im)^[ \t]*message-id:[ \t]*<?([^\s<>]+@[^\s<>]+?)>?[ \t]*$`)
	textAddress   = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)
	// textStatus is an RFC 3463 status code standing alone, not part of an IP address.
	textStatus = regexp.MustCompile(`(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:$|[^\d.]|\.(?:$|\D))`)
)

// plainBounce makes a DeliveryReport of a bounce that is not a multipart/report: a mail
// system's message (null or daemon sender, or none at all) whose subject or opening says it
// is one, or that names X-Failed-Recipients. Nil when the message is not one.
func plainBounce(h textproto.Header, in *gateway.Inbound) *gateway.DeliveryReport {
	if !in.NullSender && in.From != "" {
		return nil
	}
	failed := addressList(h.Values("X-Failed-Recipients"))
	action := bounceSubjectAction(in.Subject)
	if action == "" {
		opening := strings.ToLower(strings.TrimSpace(in.Text))
		for _, o := range bounceOpenings {
			if strings.Contains(firstLines(opening), o) {
				action = "failed"
				break
			}
		}
	}
	if action == "" && len(failed) > 0 {
		action = "failed"
	}
	if action == "" {
		return nil
	}
	rep := &gateway.DeliveryReport{Action: action}
	intro := reportIntro(in.Text)
	if len(failed) > 0 {
		rep.Recipient = failed[0]
	} else {
		rep.Recipient = textRecipient(intro, in)
	}
	if m := textStatus.FindStringSubmatch(intro); m != nil {
		rep.Status = m[1]
	}
	return rep
}

// bounceSubjectAction is the action a bounce subject means, "" for another subject.
func bounceSubjectAction(subject string) string {
	s := strings.ToLower(strings.TrimSpace(subject))
	for _, b := range bounceSubjects {
		if strings.HasPrefix(s, b.prefix) {
			return b.action
		}
	}
	return ""
}

// firstLines is the start of a text where a bounce says what it is, after a greeting or a
// banner line.
func firstLines(s string) string {
	const openingBytes = 600
	if len(s) > openingBytes {
		s = s[:openingBytes]
	}
	return s
}

// reportIntro is a bounce text without the returned message that follows it.
func reportIntro(text string) string {
	lower := strings.ToLower(text)
	end := len(text)
	for _, m := range returnedMarkers {
		if i := strings.Index(lower, m); i >= 0 && i < end {
			end = i
		}
	}
	return text[:end]
}

// textRecipient is the first address a bounce text names that is neither ours (the To of
// the bounce) nor a mail system's.
func textRecipient(intro string, in *gateway.Inbound) string {
	for _, a := range textAddress.FindAllString(intro, -1) {
		a = strings.ToLower(strings.Trim(a, ".'"))
		if !validAddress(a) || a == in.From || daemonLocal(a) || slices.Contains(in.To, a) {
			continue
		}
		return a
	}
	return ""
}

// completeReport finds what a report left out: the Message-ID of the returned message, from
// a returned message kept as a file (returned: the start of each, in order) or from a
// Message-ID line in the returned text. In-Reply-To and References are the pipeline's to
// try: only it knows which IDs are ours.
func completeReport(in *gateway.Inbound, returned [][]byte) {
	rep := in.Report
	if rep.OriginalMessageID != "" {
		return
	}
	for _, head := range returned {
		if id := originalMessageID(head); id != "" {
			rep.OriginalMessageID = id
			return
		}
	}
	text := in.Text
	if len(text) > maxReportBytes {
		text = text[:maxReportBytes]
	}
	if m := textMessageID.FindStringSubmatch(text); m != nil && validMsgID(m[1]) && m[1] != in.Key {
		rep.OriginalMessageID = m[1]
	}
}
