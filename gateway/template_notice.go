package gateway

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/gateway/lang"
)

// A notice's text is queued in English (Notification.Detail), written where the message was
// refused, and it is all a notice has. The notices the desk itself queues are recognised
// here and said again in the recipient's language; any other text (a future one, or one
// with a reason core words) goes out as queued. TestNotices_PipelineTextsAreRecognised
// drives the pipeline into every notice, so a reworded text fails the tests, not the
// customer's language.

// fixedNotices maps the notices of fixed text to their catalogue keys.
var fixedNotices = map[string]string{
	"We could not match your address to a customer account, so your message did not open a ticket. " +
		"Please write from the address registered in your panel, or open the ticket in the panel.": "unknown_sender",
	"Your mail was not applied: the desk could not verify that it comes from you (no DMARC or DKIM pass, " +
		"and it was not sent to your own reply address). Reply to the notification you received, or answer in the panel.": "unverified",
	"Your address is not linked to a customer account, so your message did not open a ticket.":                                 "no_account",
	"Your address belongs to several accounts, so we could not tell which one the ticket is for. Please open it in the panel.": "many_accounts",
	"Your message names no ticket. To answer a ticket, reply to its notification.":                                             "no_ticket",
}

var (
	closedNotice   = regexp.MustCompile(`^Ticket #(\d+) is closed; your reply was not added to it\.$`)
	filesNotice    = regexp.MustCompile(`^Not stored: (.+)\. Please send a smaller file, or a link to it\.$`)
	fileSized      = regexp.MustCompile(`^("(?:[^"\\]|\\.)*") \(([^)]*)\) is larger than the (.+) limit$`)
	fileUnsized    = regexp.MustCompile(`^("(?:[^"\\]|\\.)*") is larger than the (.+) limit$`)
	notAddedPrefix = "Your message could not be added: "
)

// localNotice returns which notice detail is and its text in language.
func localNotice(language, detail string) (key, text string) {
	detail = strings.TrimSpace(detail)
	if k, ok := fixedNotices[detail]; ok {
		return k, lang.Text(language, "mail.notice_"+k)
	}
	if m := closedNotice.FindStringSubmatch(detail); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return "closed", lang.Textf(language, "mail.notice_closed", id)
	}
	if m := filesNotice.FindStringSubmatch(detail); m != nil {
		if files, ok := localFiles(language, m[1]); ok {
			return "files_refused", lang.Textf(language, "mail.notice_files", files)
		}
	}
	if reason, ok := strings.CutPrefix(detail, notAddedPrefix); ok {
		// The reason is core's words; only the sentence around it is translated.
		return "not_added", lang.Textf(language, "mail.notice_not_added", reason)
	}
	return "other", detail
}

// localFiles translates the "; "-joined list of refused files; false when an item is not
// one the pipeline writes.
func localFiles(language, list string) (string, bool) {
	items := strings.Split(list, "; ")
	for i, it := range items {
		if m := fileSized.FindStringSubmatch(it); m != nil {
			items[i] = lang.Textf(language, "mail.notice_file_size", m[1], m[2], m[3])
		} else if m := fileUnsized.FindStringSubmatch(it); m != nil {
			items[i] = lang.Textf(language, "mail.notice_file", m[1], m[2])
		} else {
			return "", false
		}
	}
	return strings.Join(items, "; "), true
}
