package reply

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// StripHTMLQuote removes the quoted history of an HTML reply, found by its structure
// (blockquote type=cite, gmail_quote, Outlook's header block, …). found is false when the
// HTML shows no quote; html is then returned as it is. A forwarded message is content and
// stays, and so does everything when removing the quote would leave no text.
func StripHTMLQuote(src string) (stripped string, found bool) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return src, false
	}
	var quotes []*html.Node // removed with their subtree
	var tails []*html.Node  // removed with everything after them in the document
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch q := quoteKind(n); {
			case q == quoteTail && !forwarded(n):
				tails = append(tails, n)
				return
			case q == quoteNode && !forwarded(n):
				quotes = append(quotes, n)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(quotes) == 0 && len(tails) == 0 {
		return src, false
	}
	if len(tails) > 0 {
		// Only the first counts: everything after it goes anyway.
		cutFrom(tails[0])
	}
	for _, q := range quotes {
		if q.Parent != nil && attached(q) {
			removeAttribution(q)
			q.Parent.RemoveChild(q)
		}
	}
	if strings.TrimSpace(textOf(doc)) == "" {
		return src, false
	}
	var b bytes.Buffer
	if err := html.Render(&b, doc); err != nil {
		return src, false
	}
	return b.String(), true
}

type kind int

const (
	notQuote  kind = iota
	quoteNode      // the element is the quote
	quoteTail      // the element starts the history; all after it is quote too
)

// quoteKind tells how a mail client marked its quote in n.
func quoteKind(n *html.Node) kind {
	class := " " + attr(n, "class") + " "
	id := attr(n, "id")
	switch {
	case n.DataAtom == atom.Blockquote && strings.EqualFold(attr(n, "type"), "cite"):
		// Apple Mail and Thunderbird.
		return quoteNode
	case strings.Contains(class, " gmail_quote ") || strings.Contains(class, " gmail_quote_container ") ||
		strings.Contains(class, " gmail_attr "):
		return quoteNode
	case strings.Contains(class, " moz-cite-prefix "), strings.Contains(class, " yahoo_quoted "),
		strings.HasPrefix(id, "yahoo_quoted"):
		return quoteNode
	case id == "divRplyFwdMsg" || id == "appendonsend" || id == "stopSpelling" ||
		strings.Contains(class, " OutlookMessageHeader "):
		// Outlook, Outlook.com: the header of the message replied to, and its body after it.
		return quoteTail
	case n.DataAtom == atom.Div && outlookBorder(attr(n, "style")):
		// Outlook desktop draws a rule above the "From: … Sent: …" block.
		return quoteTail
	}
	return notQuote
}

func outlookBorder(style string) bool {
	s := strings.ToLower(strings.ReplaceAll(style, " ", ""))
	return strings.Contains(s, "border-top:solid#e1e1e1") || strings.Contains(s, "border-top:solid#b5c4df")
}

// forwarded reports a quote that holds, or follows, a forwarded message's marker.
func forwarded(n *html.Node) bool {
	if hasForwardLine(textOf(n)) {
		return true
	}
	for p := n.PrevSibling; p != nil; p = p.PrevSibling {
		t := strings.TrimSpace(textOf(p))
		if t == "" {
			continue
		}
		return hasForwardLine(t)
	}
	return false
}

func hasForwardLine(text string) bool {
	lines := strings.Split(text, "\n")
	// Outlook's header of a forward reads like a reply's but for the subject's "FW:".
	for i, l := range lines {
		if i > 40 {
			break
		}
		if t := clean(l); subjectKeys[headerKey(t)] && forwardSubject(t) {
			return true
		}
	}
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && forwardRe.MatchString(t) {
			return true
		}
		// The marker heads the quote: a forward deeper inside it is history.
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return false
}

// cutFrom removes n and everything after it in document order.
func cutFrom(n *html.Node) {
	for c := n; c != nil && c.Parent != nil; c = c.Parent {
		if c.DataAtom == atom.Body || c.DataAtom == atom.Html {
			break
		}
		for s := c.NextSibling; s != nil; {
			next := s.NextSibling
			c.Parent.RemoveChild(s)
			s = next
		}
	}
	// Outlook.com puts a rule just above the header.
	if p := prevElement(n); p != nil && p.DataAtom == atom.Hr {
		p.Parent.RemoveChild(p)
	}
	n.Parent.RemoveChild(n)
}

// removeAttribution drops Thunderbird's "On … wrote:" that stands as its own element just
// above a cited blockquote.
func removeAttribution(q *html.Node) {
	p := prevElement(q)
	if p != nil && strings.Contains(" "+attr(p, "class")+" ", " moz-cite-prefix ") {
		p.Parent.RemoveChild(p)
	}
}

func prevElement(n *html.Node) *html.Node {
	for p := n.PrevSibling; p != nil; p = p.PrevSibling {
		if p.Type == html.ElementNode {
			return p
		}
		if p.Type == html.TextNode && strings.TrimSpace(p.Data) != "" {
			return nil
		}
	}
	return nil
}

func attached(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n.Type == html.DocumentNode {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// textOf is the text of n, with a line break for each block element, enough to look for
// markers and emptiness.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
		case html.ElementNode:
			if n.DataAtom == atom.Script || n.DataAtom == atom.Style || n.DataAtom == atom.Head {
				return
			}
			switch n.DataAtom {
			case atom.Br, atom.Div, atom.P, atom.Tr, atom.Li, atom.Blockquote, atom.Hr:
				b.WriteByte('\n')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Div, atom.P, atom.Tr, atom.Li, atom.Blockquote:
				b.WriteByte('\n')
			}
		}
	}
	walk(n)
	return b.String()
}
