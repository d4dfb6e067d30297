package mail

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"github.com/saintfish/chardet"
	"golang.org/x/text/encoding/charmap"

	"github.com/helpdeskd/helpdeskd/core"
)

// Limits of charset detection.
const (
	// minDetectConfidence is the chardet confidence (0–100) below which its answer is not
	// taken: short single-byte texts score 30–45 and are often wrong, while a line of CJK
	// or a few lines of Cyrillic score 50–100.
	minDetectConfidence = 50
	// maxDetectBytes bounds what the detector reads: enough for its statistics, and it
	// keeps the cost of a big undeclared body small.
	maxDetectBytes = 16 << 10
)

// detectedCharsets maps chardet's names to names go-message's charset package decodes;
// what is not here (UTF-32, ISO-2022-CN/KR, the IBM EBCDIC ones) is not trusted. The
// ISO-8859 Latin names become their Windows supersets, as browsers read them (WHATWG
// Encoding): their C1 bytes are almost always Windows punctuation.
var detectedCharsets = map[string]string{
	"ISO-8859-1": "windows-1252", "ISO-8859-2": "iso-8859-2", "ISO-8859-5": "iso-8859-5",
	"ISO-8859-6": "iso-8859-6", "ISO-8859-7": "iso-8859-7", "ISO-8859-8": "iso-8859-8",
	"ISO-8859-8-I": "iso-8859-8-i", "ISO-8859-9": "windows-1254",
	"windows-1250": "windows-1250", "windows-1251": "windows-1251", "windows-1252": "windows-1252",
	"windows-1253": "windows-1253", "windows-1254": "windows-1254", "windows-1255": "windows-1255",
	"windows-1256": "windows-1256", "KOI8-R": "koi8-r", "Shift_JIS": "shift_jis",
	"GB-18030": "gb18030", "EUC-JP": "euc-jp", "EUC-KR": "euc-kr", "Big5": "big5",
	"ISO-2022-JP": "iso-2022-jp", "UTF-16BE": "utf-16be", "UTF-16LE": "utf-16le",
}

// guesser decodes 8-bit text that declares no usable charset the way one mail does: valid
// UTF-8 as it is; else in the mail's declared charset (its top-level Content-Type's, else
// its first text part's); else in what the detector finds in all of the mail's undeclared
// 8-bit text (the subject, names and bodies, written by one client in one charset); else
// as windows-1252, which every byte decodes in. A nil guesser knows no mail: declared
// nothing, sampled nothing.
type guesser struct {
	declared string // a charset go-message decodes, or ""
	sample   []byte // the mail's undeclared 8-bit text, at most maxDetectBytes
}

// declare records the mail's declared charset, the first usable one only. US-ASCII and
// the "unknown" labels say nothing about 8-bit bytes and do not count.
func (g *guesser) declare(cs string) {
	cs = normCharset(cs)
	if g.declared != "" || noCharset[cs] || cs == "utf-8" || cs == "utf8" {
		return
	}
	if knownCharset(cs) {
		g.declared = cs
	}
}

// note adds undeclared text to the detector's sample; UTF-8 or ASCII text says nothing.
func (g *guesser) note(data []byte) {
	if g == nil || utf8.Valid(data) || len(g.sample) >= maxDetectBytes {
		return
	}
	data = data[:min(len(data), maxDetectBytes-len(g.sample))]
	g.sample = append(append(g.sample, data...), '\n')
}

// decode decodes data of no usable charset (see guesser). The result is valid UTF-8.
func (g *guesser) decode(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	if g != nil && g.declared != "" {
		if s, ok := decodeClean(g.declared, data); ok {
			return s
		}
	}
	if mostlyUTF8(data) {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	if cs := g.detect(data); cs != "" {
		if s, ok := decodeClean(cs, data); ok {
			return s
		}
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// detect names the charset chardet finds in data and the mail's sample, or "" when it is
// not confident or names one we cannot decode.
func (g *guesser) detect(data []byte) string {
	sample := data[:min(len(data), maxDetectBytes)]
	if g != nil && len(g.sample) > 0 && len(sample) < maxDetectBytes {
		sample = append(append(bytes.Clone(sample), '\n'), g.sample[:min(len(g.sample), maxDetectBytes-len(sample))]...)
	}
	r, err := chardet.NewTextDetector().DetectBest(sample)
	if err != nil || r.Confidence < minDetectConfidence {
		return ""
	}
	return detectedCharsets[r.Charset]
}

// decodeClean decodes data in cs and reports whether every byte was decoded: a wrong
// multi-byte charset leaves replacement characters.
func decodeClean(cs string, data []byte) (string, bool) {
	r, err := charset.Reader(cs, bytes.NewReader(data))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return "", false
	}
	return string(out), true
}

// mostlyUTF8 reports whether invalid UTF-8 is UTF-8 with a few bad bytes: at least twice as
// many bytes in valid multi-byte sequences as bad ones. Text in a legacy multi-byte
// charset forms valid sequences only now and then.
func mostlyUTF8(data []byte) bool {
	valid, bad := 0, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			bad++
		case size > 1:
			valid += size
		}
		i += size
	}
	return valid > 0 && valid >= 2*bad
}

// noCharset are the labels that name no charset for 8-bit bytes.
var noCharset = map[string]bool{
	"": true, "us-ascii": true, "ascii": true, "unknown-8bit": true, "x-unknown": true, "default": true,
}

func normCharset(cs string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
}

// noteHeader records what the top-level header declares and samples: the Content-Type's
// charset, and the raw 8-bit bytes of the fields people write.
func (p *parser) noteHeader(h textproto.Header) {
	p.guess.declare(contentType(h, "").params["charset"])
	for _, k := range []string{"Subject", "From", "To", "Cc"} {
		for _, v := range h.Values(k) {
			p.guess.note([]byte(v))
		}
	}
}

// declareText takes a text part's charset as the mail's when none is declared yet.
func (p *parser) declareText(ct mediaType) { p.guess.declare(ct.params["charset"]) }

// decodeText decodes a text part in its charset; without a usable one, as the mail's other
// undeclared text (guesser), which the part adds to.
func (p *parser) decodeText(cs string, data []byte) string {
	if c := normCharset(cs); noCharset[c] || c == "utf-8" || c == "utf8" || !knownCharset(c) {
		p.guess.note(data)
	}
	return decodeCharsetWith(&p.guess, cs, data)
}

// rename is a file whose name had raw 8-bit bytes, to be named again once the walk has
// found the mail's charset.
type rename struct {
	at               int // in p.in.Attachments, before HTML files are placed among them
	disp, ctype, typ string
}

// redecode8bit decodes again, knowing the whole mail, what was read before its charset was
// known: a raw 8-bit Subject and file names. UTF-8 values are left as they are.
func (p *parser) redecode8bit(h textproto.Header) {
	if s := h.Get("Subject"); !utf8.ValidString(s) {
		p.in.Subject = cleanSubject(decodeWordsWith(&p.guess, s))
	}
	for _, r := range p.renames {
		if r.at >= len(p.in.Attachments) {
			continue
		}
		name := fileNameWith(&p.guess, r.disp, r.ctype)
		if r.typ == "message/rfc822" || r.typ == "message/global" {
			name = emlName(name)
		} else {
			name = nameOr(name, r.typ)
		}
		p.in.Attachments[r.at].Name = core.SafeFileName(name)
	}
}

func knownCharset(cs string) bool {
	_, err := charset.Reader(cs, bytes.NewReader(nil))
	return err == nil
}
