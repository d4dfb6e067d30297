package mail

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestBase64Reader_KeepsEveryWholeByte(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"QUJD", "ABC"},
		{"QUJDRA==", "ABCD"},
		{"QUJDRA=", "ABCD"},  // short padding
		{"QUJDRA", "ABCD"},   // no padding: 2 characters, 1 byte
		{"QUJDREU", "ABCDE"}, // 3 characters, 2 bytes
		{"QUJDR", "ABC"},     // 1 character is no byte
		{"QU\r\nJD\r\nRA\r\n", "ABCD"},
		{"QU!J*D R\x00A", "ABCD"}, // garbage skipped
		{"QUI=QUJD", "AB"},        // '=' ends the data
		{"=QUJD", ""},             // at once
		{"SGVsbG8gQUJD\r\nRA\r\n", "Hello ABCD"},
		{strings.Repeat("QUJD", 5000) + "RA", strings.Repeat("ABC", 5000) + "D"}, // across reads
	} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader,
		} {
			got, err := io.ReadAll(&base64Reader{r: wrap(strings.NewReader(tc.in))})
			if err != nil || string(got) != tc.want {
				t.Errorf("%s %.40q: got %.40q, %v; want %.40q", name, tc.in, got, err, tc.want)
			}
		}
	}
}

// TestBoundaryLines_PartsKeepTheirBytes reads multiparts with CRLF, LF and both mixed: every
// part is found, and a part holds exactly its bytes (CRs included), without the line end
// before the boundary.
func TestBoundaryLines_PartsKeepTheirBytes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"crlf", "--b\r\n\r\na\r\nb\r\n--b\r\n\r\nc\r\n--b--\r\n", []string{"a\r\nb", "c"}},
		{"lf", "--b\n\na\nb\n--b\n\nc\n--b--\n", []string{"a\nb", "c"}},
		{"crlf then lf", "--b\r\n\r\na\r\n--b\n\nc\n--b--\n", []string{"a", "c"}},
		{"lf then crlf", "--b\n\na\n--b\r\n\r\nc\r\n--b--\r\n", []string{"a", "c"}},
		{"white space after the boundary", "--b \t\r\n\r\na\r\n--b--  \r\n", []string{"a"}},
		{"preamble and epilogue", "pre\r\n--b\r\n\r\na\r\n--b--\r\nepi\r\n", []string{"a"}},
		{"lone CR inside", "--b\r\n\r\na\rb\r\n--b--\r\n", []string{"a\rb"}},
		{"a longer line is no boundary", "--b\r\n\r\n--bx\r\n--b--\r\n", []string{"--bx"}},
		{"no final boundary", "--b\r\n\r\na\r\n", []string{"a"}},
		{"long line", "--b\r\n\r\n" + strings.Repeat("x", 3*lineBuffer) + "\r\n--b--\r\n", []string{strings.Repeat("x", 3*lineBuffer)}},
	} {
		for rname, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader,
		} {
			mr := textproto.NewMultipartReader(newBoundaryLines(wrap(strings.NewReader(tc.body)), "b"), "b")
			var got []string
			for {
				part, err := mr.NextPart()
				if err != nil {
					break
				}
				data, _ := io.ReadAll(newTrailingCR(part))
				got = append(got, string(data))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s, %s: parts %q, want %q", tc.name, rname, got, tc.want)
			}
		}
	}
}

func TestIsStub(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"This newsletter can be read in HTML.", true},
		{"Your mail client does not support HTML.", true},
		{"Trouble reading? View this email in your browser: https://x.test/n/1", true},
		{"Sie können diese E-Mail auch im\nBrowser ansehen.", true},
		{"The export fails since Monday.", false},
		{strings.Repeat("A long message about our HTML version of the site. ", 20), false},
	} {
		if got := isStub(tc.text); got != tc.want {
			t.Errorf("isStub(%.50q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestChooseAlternative(t *testing.T) {
	long := "<p>" + strings.Repeat("Every export stops after a hundred rows. ", 10) + "</p>"
	for _, tc := range []struct {
		name, plain, html string
		wantHTML          bool
	}{
		{"plain text wins", "The export fails after a hundred rows.", "<p>The export fails after a hundred rows.</p>", false},
		{"stub plain loses", "View this email in your browser.", "<p>The export fails.</p>", true},
		{"stub plain wins over empty HTML", "View this email in your browser.", "<p></p>", false},
		{"far shorter plain loses", "Export fails.", long, true},
		{"short HTML is not far richer", "Hi", "<p>Hello there, the export fails.</p>", false},
		{"a third or more wins", strings.Repeat("Every export stops after a hundred rows. ", 4), long, false},
	} {
		p := &parser{}
		got := p.chooseAlternative([][]piece{{{text: tc.plain}}, {{html: true, text: tc.html}}})
		var gotHTML bool
		for _, pc := range got {
			if pc.html && !pc.shadow {
				gotHTML = true
			}
		}
		if gotHTML != tc.wantHTML {
			t.Errorf("%s: HTML chosen %v, want %v", tc.name, gotHTML, tc.wantHTML)
		}
		if !tc.wantHTML && (len(got) != 2 || !got[1].shadow) {
			t.Errorf("%s: the HTML alternative is not kept as the body's HTML: %+v", tc.name, got)
		}
	}
}

func TestGuesser_Decode(t *testing.T) {
	gb := enc(simplifiedchinese.GBK, "我们的服务器从昨天晚上开始无法访问，请尽快帮我们检查一下问题出在哪里。")
	for _, tc := range []struct {
		name, declared, sample, in, want string
	}{
		{"UTF-8 stays", "koi8-r", "", "Grüße", "Grüße"},
		{"declared", "koi8-r", "", enc(charmap.KOI8R, "Отчёт"), "Отчёт"},
		{"declared, but it does not decode: detected", "shift_jis", "", gb, "我们的服务器从昨天晚上开始无法访问，请尽快帮我们检查一下问题出在哪里。"},
		{"detected from the mail's sample", "", gb, enc(simplifiedchinese.GBK, "服务器故障"), "服务器故障"},
		{"detected alone", "", "", enc(japanese.ShiftJIS, "請求書がまだ届いていません。至急ご確認をお願いいたします。"), "請求書がまだ届いていません。至急ご確認をお願いいたします。"},
		{"too short to detect: windows-1252", "", "", "caf\xe9 \x80", "café €"},
		{"mostly UTF-8", "", "", "caf\xc3\xa9 and a stray \xff", "café and a stray \uFFFD"},
	} {
		g := &guesser{}
		g.declare(tc.declared)
		g.note([]byte(tc.sample))
		if got := g.decode([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
