package mail

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// htmlSkipped are elements whose content is not text for a reader.
var htmlSkipped = map[string]bool{
	"script": true, "style": true, "head": true, "title": true, "noscript": true,
	"template": true, "object": true, "svg": true,
}

// htmlBlocks are elements that start and end on a line of their own.
var htmlBlocks = map[string]bool{
	"p": true, "div": true, "tr": true, "table": true, "blockquote": true, "ul": true, "ol": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true, "address": true,
	"dl": true, "dt": true, "dd": true, "center": true, "form": true, "fieldset": true,
	"pre": true, "main": true, "nav": true, "aside": true, "figure": true,
}

// htmlToText turns an HTML body into readable plain text: script, style and head dropped;
// br, p, div, li, tr and the other blocks turned into line breaks; list items marked with
// "- "; entities decoded (the tokenizer's Text is html.UnescapeString of the raw text);
// white space folded as a browser would, except in pre; at most one blank line in a row.
// It never fails: the tokenizer reads any bytes as some HTML.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip, pre := 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyLines(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			if pre == 0 {
				t = foldSpace(t)
			}
			b.WriteString(t)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "body":
				skip = 0 // a head left open ends here
			case htmlSkipped[tag]:
				if tt == html.StartTagToken {
					skip++
				}
			case skip > 0:
			case tag == "br":
				b.WriteByte('\n')
			case tag == "li":
				b.WriteString("\n- ")
			case tag == "td" || tag == "th":
				b.WriteByte(' ')
			case htmlBlocks[tag]:
				b.WriteByte('\n')
				if tag == "pre" && tt == html.StartTagToken {
					pre++
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case htmlSkipped[tag]:
				if skip > 0 {
					skip--
				}
			case skip > 0:
			case htmlBlocks[tag]:
				b.WriteByte('\n')
				if tag == "pre" && pre > 0 {
					pre--
				}
			}
		}
	}
}

// foldSpace turns each run of white space (no-break spaces too) into one space.
func foldSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tidyLines trims each line, keeps at most one blank line in a row, and trims the text.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops leading blank lines
	for _, l := range lines {
		l = strings.TrimFunc(l, unicode.IsSpace)
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
