package mail

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"<div>a</div><div>b</div>", "a\n\nb"},
		{"<ul><li>x</li><li>y</li></ul>", "- x\n- y"},
		{"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n\n3"},
		{"<head><title>t</title><style>x{}</style></head><body>text</body>", "text"},
		{"<script>if (a < b) { x() }</script>after", "after"},
		{"<head><meta charset=utf-8>no closing head<body>body text", "body text"},
		{"a &amp; b &lt;c&gt; &eacute; &#8364; &nbsp;x", "a & b <c> é € x"},
		{"  lots   of\n\n  space  ", "lots of space"},
		{"<pre>  keep\n  lines</pre>", "keep\nlines"},
		{"<p></p><p></p><p></p>x<p></p><p></p>y", "x\n\ny"},
		{"<p>unclosed <b>tags <i>everywhere", "unclosed tags everywhere"},
		{"<!-- comment -->visible<!DOCTYPE html>", "visible"},
		{"", ""},
	} {
		if got := htmlToText(tc.in); got != tc.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLFReader(t *testing.T) {
	for _, in := range []string{
		"", "a", "\r", "\n", "\r\n", "\r\r\n", "a\r\nb\r\n", "a\rb", "a\r", "\r\r", "x\r\n\r\n\ry",
		strings.Repeat("line\r\n", 5000) + "lone\r",
	} {
		want := strings.ReplaceAll(in, "\r\n", "\n")
		for name, r := range map[string]io.Reader{
			"whole":    newLFReader(strings.NewReader(in)),
			"one byte": newLFReader(iotest.OneByteReader(strings.NewReader(in))),
			"half":     iotest.HalfReader(newLFReader(strings.NewReader(in))),
		} {
			got, err := io.ReadAll(r)
			if err != nil || string(got) != want {
				t.Errorf("%s %q: got %q, %v; want %q", name, in, got, err, want)
			}
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		in     string
		typ    string
		params map[string]string
	}{
		{`text/plain; charset="utf-8"`, "text/plain", map[string]string{"charset": "utf-8"}},
		{`Text/HTML;Charset=ISO-8859-1`, "text/html", map[string]string{"charset": "ISO-8859-1"}},
		{`attachment; filename="a.pdf"; filename="b.pdf"`, "attachment", map[string]string{"filename": "a.pdf"}},
		{`attachment; filename="unterminated.pdf`, "attachment", map[string]string{"filename": "unterminated.pdf"}},
		{`application/pdf name="x.pdf"`, "application/pdf", map[string]string{"name": "x.pdf"}},
		{`attachment; filename*=utf-8''%E2%82%AC%20rate.txt`, "attachment", map[string]string{"filename": "€ rate.txt"}},
		{`attachment; filename*=koi8-r''%F0%D2%C9%D7%C5%D4.txt`, "attachment", map[string]string{"filename": "Привет.txt"}},
		{`attachment; filename*0="a"; filename*1="b"; filename*2*=%41`, "attachment", map[string]string{"filename": "abA"}},
		{`attachment; filename*1="b"; filename*0="a"; x=1; x=2`, "attachment", map[string]string{"filename": "ab", "x": "1"}},
		{`inline; filename="a\"b.txt"`, "inline", map[string]string{"filename": `a"b.txt`}},
		{`;;;===`, "", map[string]string{}},
		{``, "", map[string]string{}},
	} {
		typ, params := parseValue(tc.in)
		if typ != tc.typ || !maps.Equal(params, tc.params) {
			t.Errorf("parseValue(%q) = %q %v, want %q %v", tc.in, typ, params, tc.typ, tc.params)
		}
	}
}

func TestLenientMsgIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"<a@b> <c@d>", []string{"a@b", "c@d"}},
		{"a@b c@d", []string{"a@b", "c@d"}},
		{"<a@b>,<c@d>;e@f", []string{"a@b", "c@d", "e@f"}},
		{"<a@b> (comment with x@y) junk <c@d", []string{"a@b", "c@d"}},
		{"<a b@c> <ok@d>", []string{"ok@d"}},
		{"noat <>", nil},
	} {
		if got := lenientMsgIDs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("lenientMsgIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestToUTF8(t *testing.T) {
	for _, tc := range []struct{ cs, in, want string }{
		{"", "plain ascii", "plain ascii"},
		{"", "caf\xc3\xa9", "café"},
		{"", "caf\xe9 \x80", "café €"},                                  // no UTF-8 sequence: windows-1252
		{"", "caf\xc3\xa9 and a stray \xff", "café and a stray \uFFFD"}, // UTF-8 with one bad byte
		{"iso-8859-15", "\xa4", "€"},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
		{"no-such-charset", "caf\xe9", "café"},
		{"utf-8", "bad \xff", "bad ÿ"},
	} {
		if got := toUTF8(tc.cs, []byte(tc.in)); got != tc.want {
			t.Errorf("toUTF8(%q, %q) = %q, want %q", tc.cs, tc.in, got, tc.want)
		}
	}
}

func TestReadUpTo(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100_000)
	got, size, big := readUpTo(bytes.NewReader(data), 100_000)
	if big || size != 100_000 || !bytes.Equal(got, data) {
		t.Errorf("at the limit: %d bytes, size %d, tooLarge %v", len(got), size, big)
	}
	got, size, big = readUpTo(bytes.NewReader(data), 99_999)
	if !big || size != 100_000 || len(got) > maxReportBytes {
		t.Errorf("one over: %d bytes, size %d, tooLarge %v", len(got), size, big)
	}
	got, size, big = readUpTo(iotest.TimeoutReader(bytes.NewReader(data)), 1<<20)
	if big || size != int64(len(got)) || size == 0 {
		t.Errorf("read error: %d bytes, size %d, tooLarge %v; want what came before it", len(got), size, big)
	}
}
