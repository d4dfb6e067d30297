package mail

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// piece is a candidate for the body text.
type piece struct {
	html bool
	// text is the decoded text, or the HTML source, within the text budget.
	text string
	// file is an HTML part as an attachment, kept when the part does not end up as the body;
	// at is where it goes among the attachments, so that they stay in MIME order.
	file *gateway.File
	at   int
	// group numbers the pieces of one chosen alternative, which are the body together.
	group int
	// shadow marks the HTML alternative of plain text that won: the body's HTML, kept for
	// reply extraction, and neither text nor a file.
	shadow bool
	// conv caches htmlToText of an HTML piece; converted says it is set.
	conv      string
	converted bool
}

// plain returns the text of a piece, an HTML one converted once.
func (pc *piece) plain() string {
	if !pc.html {
		return cleanText(pc.text)
	}
	if !pc.converted {
		pc.conv, pc.converted = cleanText(htmlToText(cleanText(pc.text))), true
	}
	return pc.conv
}

// Thresholds of the choice between the alternatives.
const (
	// minRichHTMLRunes: an HTML alternative that converts to less text is not "far richer"
	// than a short plain one: both are a line or two.
	minRichHTMLRunes = 200
	// richerFactor: plain text under a third of the HTML's text is a summary or a teaser,
	// not the same message.
	richerFactor = 3
	// maxStubRunes: a plain alternative longer than this is a message, whatever it says
	// about HTML.
	maxStubRunes = 400
)

// stubPhrases are what a plain alternative says when it is only a placeholder for the
// HTML (lower case, white space folded).
var stubPhrases = []string{
	"in html", "support html", "display html", "displaying html", "html version", "html-version",
	"html format", "html e-mail", "html email", "html mail", "html message",
	"in your browser", "in a browser", "in a web browser", "in your web browser", "im browser",
	"in ihrem browser", "dans votre navigateur", "view this email", "view this e-mail",
	"view this message", "view it online", "view online", "view the online", "web version",
	"webversion", "online version", "onlineversion",
}

// isStub reports whether a plain alternative only points to the HTML one.
func isStub(text string) bool {
	if utf8.RuneCountInString(text) > maxStubRunes {
		return false
	}
	t := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for _, s := range stubPhrases {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// chooseAlternative picks what multipart/alternative offers: the first alternative with
// plain text, unless it is only a stub or far shorter than the first alternative with
// HTML; else the first with HTML. When plain text wins, the HTML alternative comes along
// as a shadow: the body's HTML for reply extraction, not a file.
func (p *parser) chooseAlternative(children [][]piece) []piece {
	plain, rich := -1, -1
	for i, c := range children {
		if plain < 0 && hasPlain(c) {
			plain = i
		}
		if rich < 0 && hasHTML(c) {
			rich = i
		}
	}
	p.groups++
	switch {
	case plain < 0 && rich < 0:
		return nil
	case plain >= 0 && (rich < 0 || rich == plain || !p.htmlWins(children[plain], children[rich])):
		out := children[plain]
		if rich >= 0 && rich != plain {
			for _, pc := range children[rich] {
				if pc.html && !pc.shadow {
					pc.shadow = true
					out = append(out, pc)
				}
			}
		}
		return out
	}
	var out []piece
	for _, pc := range children[rich] {
		if pc.html && !pc.shadow {
			pc.group = p.groups
			out = append(out, pc)
		}
	}
	return out
}

// htmlWins reports whether the HTML alternative is to be the body rather than the plain
// one: the plain text is a stub and the HTML has any text, or the plain text is under a
// third of the HTML's, which has real text.
func (p *parser) htmlWins(plain, rich []piece) bool {
	var pt, ht []string
	for i := range plain {
		if !plain[i].html {
			pt = append(pt, plain[i].plain())
		}
	}
	for i := range rich {
		if rich[i].html && !rich[i].shadow {
			ht = append(ht, rich[i].plain())
		}
	}
	pn := utf8.RuneCountInString(strings.TrimSpace(strings.Join(pt, "\n\n")))
	hn := utf8.RuneCountInString(strings.TrimSpace(strings.Join(ht, "\n\n")))
	if isStub(strings.Join(pt, "\n")) && hn > 0 {
		return true
	}
	return hn >= minRichHTMLRunes && pn*richerFactor < hn
}

func hasPlain(c []piece) bool {
	for _, pc := range c {
		if !pc.html && strings.TrimSpace(pc.text) != "" {
			return true
		}
	}
	return false
}

func hasHTML(c []piece) bool {
	for _, pc := range c {
		if pc.html && !pc.shadow {
			return true
		}
	}
	return false
}

// body makes the body from the walk's pieces: the plain text when there is any, else the
// first HTML part with text (with the rest of its alternative) converted. Every other HTML
// part is kept as a file, in its place among the attachments. It returns the text, valid
// UTF-8 with LF line ends and at most MaxTextBytes, and the body's HTML.
func (p *parser) body(pieces []piece) (text, html string) {
	var texts, htmls []string
	isBody := make([]bool, len(pieces))
	for i := range pieces {
		if pc := &pieces[i]; !pc.html && strings.TrimSpace(pc.text) != "" {
			texts = append(texts, pc.plain())
			isBody[i] = true
		}
	}
	if len(texts) > 0 {
		group := -1 // the first shadow alternative's: the HTML of the plain text
		for _, pc := range pieces {
			if pc.shadow && (group < 0 || pc.group == group) {
				group = pc.group
				htmls = append(htmls, pc.text)
			}
		}
	} else {
		first := -1
		for i := range pieces {
			if pc := &pieces[i]; pc.html && !pc.shadow && (first < 0 || pc.plain() != "" && pieces[first].plain() == "") {
				first = i
			}
		}
		for i := range pieces {
			pc := &pieces[i]
			if first >= 0 && pc.html && !pc.shadow && (i == first || pc.group != 0 && pc.group == pieces[first].group) {
				isBody[i] = true
				htmls = append(htmls, pc.text)
				if t := pc.plain(); t != "" {
					texts = append(texts, t)
				}
			}
		}
	}
	p.fileHTML(pieces, isBody)
	text = cutUTF8(strings.ToValidUTF8(strings.Join(texts, "\n\n"), "\uFFFD"), p.opts.MaxTextBytes)
	return text, strings.Join(htmls, "\n")
}

// fileHTML keeps the HTML parts that are not the body as files, each where it was found.
func (p *parser) fileHTML(pieces []piece, isBody []bool) {
	type placed struct {
		at   int
		file gateway.File
	}
	var files []placed
	for i, pc := range pieces {
		if pc.html && !pc.shadow && !isBody[i] && pc.file != nil {
			files = append(files, placed{pc.at, *pc.file})
		}
	}
	slices.SortStableFunc(files, func(a, b placed) int { return a.at - b.at })
	for k, f := range files {
		at := min(f.at+k, len(p.in.Attachments))
		p.in.Attachments = slices.Insert(p.in.Attachments, at, f.file)
	}
}
