package core

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Canned replies: texts staff keep for the answers they give again and again, with
// placeholders filled for the ticket they answer, optionally setting the ticket's status.
// The text is plain text with {{…}} placeholders, never a template language: a value is
// put in as it is (a customer's name holding "{{staff.name}}" stays those characters), so
// nothing in a canned reply or a value can run code or change how the rest is read.

// CannedReply is a staff-managed reply text.
type CannedReply struct {
	ID int64
	// Name is short, one word in lower case (/canned <name> in the staff chat), unique.
	Name string
	// Body is the text with its placeholders.
	Body string
	// Status, when set, is the status the reply sets after it is sent (In Progress,
	// Resolved or Closed), through the state machine as a staff status change.
	Status    *Status
	CreatedAt time.Time
	UpdatedAt time.Time
	// UpdatedBy is the staff user who created or last changed it.
	UpdatedBy int64
}

// NewCannedReply is the input of CreateCannedReply and UpdateCannedReply.
type NewCannedReply struct {
	Name   string
	Body   string
	Status *Status
}

// Canned reply limits.
const (
	MaxCannedNameChars = 32
	MaxCannedBodyChars = 20000
)

// The placeholders a canned reply may hold, and what fills them.
const (
	PlaceholderCustomerName  = "customer.name"  // the name of the ticket's customer (its opener)
	PlaceholderTicketID      = "ticket.id"      // the ticket's number
	PlaceholderTicketSubject = "ticket.subject" // the ticket's subject
	PlaceholderStaffName     = "staff.name"     // the name of the staff user who replies
)

// Placeholders lists the known placeholders in the order the docs give them.
var Placeholders = []string{PlaceholderCustomerName, PlaceholderTicketID, PlaceholderTicketSubject, PlaceholderStaffName}

// placeholder matches {{name}}, spaces inside the braces allowed. A lone "{{" with no
// closing braces is plain text.
var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

func knownPlaceholder(name string) bool {
	for _, p := range Placeholders {
		if p == name {
			return true
		}
	}
	return false
}

// checkCanned validates and normalises in: the name trimmed and in lower case.
func checkCanned(in NewCannedReply) (NewCannedReply, error) {
	var bad FieldErrors
	in.Name = strings.ToLower(strings.TrimSpace(in.Name))
	switch n := utf8.RuneCountInString(in.Name); {
	case !utf8.ValidString(in.Name):
		bad.Add("name", "must be valid UTF-8")
	case n == 0:
		bad.Add("name", "must not be empty")
	case n > MaxCannedNameChars:
		bad.Add("name", atMostChars(MaxCannedNameChars))
	case strings.ContainsFunc(in.Name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' }):
		// One word, so that "/canned <name>" names it in a chat.
		bad.Add("name", "must be one word of letters, digits, - and _")
	}
	switch {
	case !utf8.ValidString(in.Body):
		bad.Add("body", "must be valid UTF-8")
	case strings.TrimSpace(in.Body) == "":
		bad.Add("body", "must not be empty")
	case utf8.RuneCountInString(in.Body) > MaxCannedBodyChars:
		bad.Add("body", atMostChars(MaxCannedBodyChars))
	default:
		for _, m := range placeholder.FindAllStringSubmatch(in.Body, -1) {
			if !knownPlaceholder(m[1]) {
				bad.Add("body", "unknown placeholder "+m[0]+"; the placeholders are {{"+strings.Join(Placeholders, "}}, {{")+"}}")
				break
			}
		}
	}
	if in.Status != nil {
		if _, ok := statusTrigger(*in.Status); !ok {
			bad.Add("status", "must be 1 (In Progress), 2 (Resolved), 3 (Closed) or null")
		}
	}
	return in, bad.Err()
}

// statusTrigger is the staff status change that sets st; false for a status staff cannot
// set (Open, or an unknown one).
func statusTrigger(st Status) (Trigger, bool) {
	switch st {
	case StatusInProgress:
		return TriggerSetInProgress, true
	case StatusResolved:
		return TriggerSetResolved, true
	case StatusClosed:
		return TriggerClose, true
	}
	return 0, false
}

// fillPlaceholders puts the values in for the placeholders of body, in one pass over the
// canned text only: what a value holds is never looked at again.
func fillPlaceholders(body string, values map[string]string) string {
	return placeholder.ReplaceAllStringFunc(body, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := values[name]; ok {
			return v
		}
		return m // unknown names are refused on save; a stored one stays as written
	})
}

// cannedSubject is the audit log's subject of a canned reply.
func cannedSubject(id int64) string { return "canned_reply:" + strconv.FormatInt(id, 10) }

func cannedNotFound() error { return Errorf(ENOTFOUND, "Canned reply not found.") }
