// Package reply finds what a person wrote in a reply mail: the text that is new, apart
// from the quoted history, the attribution above it and the signature below. It works on the
// plain text of a mail and on its HTML, and never loses the writer's words: where in doubt it
// keeps text.
package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// markerStem is the marker without its closing "-##", which some clients wrap away.
var markerStem = strings.TrimSuffix(gateway.ReplyMarker, " -##")

// maxBottomPosts bounds how often a reply below a quote is looked into again, so that a
// mail of nested quotes costs linear time.
const maxBottomPosts = 8

// Visible returns the new text of a reply. With our marker, everything from the marker
// (and the attribution or header block above it) is cut. Without it, the text ends at the
// first sign of quoted history: an attribution line, an Outlook header block, an
// "Original Message" rule, a phone's "Sent from …" line, a trailing block of "> " lines or
// a "-- " signature. A forwarded message is kept whole. When the writer's text sits below
// the quote (bottom posting) that text is taken; when nothing would be left the signature
// is kept, and failing that the whole text.
func Visible(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.Contains(l, markerStem) {
			if v := visible(lines[:i], true, 0); v != nil {
				return join(v)
			}
			break
		}
	}
	if v := visible(lines, true, 0); v != nil {
		return join(v)
	}
	if v := visible(lines, false, 0); v != nil {
		return join(v)
	}
	return strings.TrimSpace(text)
}

func join(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// cut is where the quoted history begins.
type cut struct {
	at     int    // first line of the history; len(lines) when there is none
	keep   string // the reply's part of a line shared with the attribution
	after  int    // first line after the attribution, for a reply below its quote
	attrib bool   // the history starts with an attribution
}

// visible returns the writer's lines of lines, or nil when none are left.
func visible(lines []string, stripSignature bool, depth int) []string {
	c := findCut(lines)
	head := lines[:c.at:c.at]
	if c.keep != "" {
		head = append(head, c.keep)
	}
	head = trimTail(head, stripSignature)
	if hasText(head) {
		return head
	}
	if !c.attrib || depth >= maxBottomPosts {
		return nil
	}
	// Bottom posting: the attribution and its "> " quote come first, the reply after.
	j := c.after
	// Without a "> " quote below the attribution, what follows can only be the writer's.
	for j < len(lines) && (isQuoted(lines[j]) || strings.TrimSpace(lines[j]) == "") {
		j++
	}
	return visible(lines[j:], stripSignature, depth+1)
}

// findCut scans from the top for the first sign of quoted history.
func findCut(lines []string) cut {
	text := false // the writer has written something above
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if !isQuoted(l) {
			if isForward(t) {
				// What follows is the content being forwarded to us.
				break
			}
			if isSeparator(t) {
				return cut{at: i, after: i + 1}
			}
			if block, forward := headerBlockAt(lines, i); forward {
				break
			} else if block {
				return cut{at: i, after: i + 1}
			}
			if text && isMobileSignature(t) && standsAlone(lines, i) {
				return cut{at: i, after: i + 1}
			}
		}
		if mayEndAttribution(t) {
			if s, keep, ok := attributionEnding(lines, i); ok {
				return cut{at: s, keep: keep, after: i + 1, attrib: true}
			}
		}
		if !isQuoted(l) {
			text = true
		}
	}
	return cut{at: len(lines), after: len(lines)}
}

// attributionEnding reports whether an attribution ends at lines[j], and where it starts.
// keep is the writer's text in front of it on the same line. The start is chosen so that a
// line of the reply above is never taken for the first half of a wrapped attribution: a
// line that opens an attribution by itself wins, then one opening with a preposition or a
// date, then one holding the address.
func attributionEnding(lines []string, j int) (start int, keep string, ok bool) {
	tj := clean(lines[j])
	if !isQuoted(lines[j]) && (hasOpener(tj) || hasDateStart(tj)) && matchAttribution(lines, j, j) {
		return j, "", true
	}
	var cand []int
	lo := j
	for k := j - 1; k >= 0 && k >= j-2; k-- {
		t := strings.TrimSpace(lines[k])
		if t == "" || isQuoted(lines[k]) || len(t) > 150 || endsSentence(t) {
			break
		}
		lo = k
	}
	for k := j - 1; k >= lo; k-- {
		if hasOpener(clean(lines[k])) {
			cand = append(cand, k)
		}
	}
	for k := j - 1; k >= lo; k-- {
		if hasDateStart(clean(lines[k])) {
			cand = append(cand, k)
		}
	}
	for k := j - 1; k >= lo; k-- {
		if strings.ContainsAny(lines[k], "<@") {
			cand = append(cand, k)
		}
	}
	for _, s := range cand {
		if matchAttribution(lines, s, j) {
			return s, "", true
		}
	}
	if isQuoted(lines[j]) {
		return 0, "", false
	}
	if m := sameLineRe.FindStringSubmatch(tj); m != nil {
		if rest := strings.TrimSpace(tj[len(m[1]):]); hasDateOrAddress(rest) {
			if ok, weak := isAttribution(rest); ok && !weak {
				return j, m[1], true
			}
		}
	}
	if matchAttribution(lines, j, j) {
		return j, "", true
	}
	return 0, "", false
}

// endsSentence reports a line that ends a sentence, so that the next line cannot continue
// it as a wrapped attribution. "schrieb am So., 23." and "28. Nov." end in a date.
func endsSentence(t string) bool {
	switch t[len(t)-1] {
	case '!', '?':
		return true
	case '.':
	default:
		return false
	}
	w := t[strings.LastIndexAny(t, " \t")+1 : len(t)-1]
	if w == "" || isDigit(w[len(w)-1]) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(w)
	return len(w) > 4 || !unicode.IsUpper(r)
}

// matchAttribution tests lines[s..e] joined as one attribution.
func matchAttribution(lines []string, s, e int) bool {
	parts := make([]string, 0, 3)
	for k := s; k <= e; k++ {
		parts = append(parts, clean(lines[k]))
	}
	a := strings.Join(parts, " ")
	if len(a) > 500 {
		return false
	}
	ok, weak := isAttribution(a)
	// Without a time, a year or an address it could be prose ("On page 3 I wrote:"); a
	// quote right below settles it.
	return ok && (!weak && hasDateOrAddress(a) || quoteBelow(lines, e+1))
}

// standsAlone reports a line set apart from what follows it, as an app sets its signature
// apart from the quote below; a line running on into the next is the writer's sentence.
func standsAlone(lines []string, i int) bool {
	if i+1 >= len(lines) {
		return true
	}
	t := strings.TrimSpace(lines[i+1])
	return t == "" || isQuoted(lines[i+1]) || isRule(t) || isSeparator(t) ||
		isHeaderBlock(lines, i+1) || mayEndAttribution(t)
}

func quoteBelow(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return isQuoted(lines[i])
		}
	}
	return true
}

// clean trims a line and turns the non-breaking spaces some clients write into spaces.
func clean(l string) string {
	t := strings.TrimSpace(l)
	if strings.Contains(t, "\u00a0") {
		t = strings.TrimSpace(strings.ReplaceAll(t, "\u00a0", " "))
	}
	return t
}

func isQuoted(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">")
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}

// trimTail drops what a mail client leaves between the reply and the history it was cut
// from, or below the reply: blank lines, a trailing "> " quote, rules, the "Original
// Message" line, and with stripSignature the phone's "Sent from …" line and a "-- "
// signature.
func trimTail(lines []string, stripSignature bool) []string {
	for {
		n := len(lines)
		for len(lines) > 0 {
			l := lines[len(lines)-1]
			t := strings.TrimSpace(l)
			if t == "" || isQuoted(l) || isRule(t) || isSeparator(t) ||
				stripSignature && isMobileSignature(t) {
				lines = lines[:len(lines)-1]
				continue
			}
			break
		}
		if stripSignature {
			if s := signatureStart(lines); s >= 0 {
				lines = lines[:s]
				// One signature per mail: a second "--" above is the writer's own text.
				stripSignature = false
			}
		}
		if len(lines) == n {
			return lines
		}
	}
}
