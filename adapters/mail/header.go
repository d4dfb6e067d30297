package mail

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// mediaType is a parsed Content-Type.
type mediaType struct {
	typ    string // lower case, "text/plain" when absent
	params map[string]string
}

// contentType reads a part's Content-Type: absent → def (RFC 2045 §5.2); without a subtype
// → text/plain, or application/octet-stream when the part is named.
func contentType(h textproto.Header, def string) mediaType {
	if def == "" {
		def = "text/plain"
	}
	typ, params := parseValue(h.Get("Content-Type"))
	switch {
	case typ == "":
		typ = def
	case strings.Count(typ, "/") != 1 || strings.HasPrefix(typ, "/") || strings.HasSuffix(typ, "/"):
		typ = "text/plain"
		if params["name"] != "" {
			typ = "application/octet-stream"
		}
	}
	return mediaType{typ: typ, params: params}
}

// parseValue splits a Content-Type or Content-Disposition value into its lower-cased value
// and parameters (names lower-cased, RFC 2231 continuations and charsets decoded). Where
// mime.ParseMediaType refuses the value (a duplicate parameter, a missing quote, a charset
// it does not know), the value is split leniently instead.
func parseValue(v string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", map[string]string{}
	}
	i := strings.IndexAny(v, "; \t")
	if i < 0 {
		i = len(v)
	}
	typ, params, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(v[:i]), lenientParams(v[i:])
	}
	if strings.Contains(v, "*") {
		// mime.ParseMediaType drops an RFC 2231 value in a charset other than UTF-8 or
		// US-ASCII; the lenient reading decodes it with go-message's charsets.
		for k, val := range lenientParams(v[i:]) {
			if _, ok := params[k]; !ok {
				params[k] = val
			}
		}
	}
	return typ, params
}

// lenientParams reads `; a=b; c="d e"; f*=utf-8”x%20y; g*0=h; g*1=i` without failing: the
// first of duplicate parameters wins, an unterminated quote ends at the end of the value.
func lenientParams(s string) map[string]string {
	type segment struct {
		value   string
		encoded bool
	}
	plain := map[string]string{}
	ext := map[string]string{}           // name* = charset'lang'pct-encoded
	cont := map[string]map[int]segment{} // name*N and name*N*
	for len(s) > 0 {
		s = strings.TrimLeft(s, "; \t\r\n")
		eq := strings.IndexAny(s, "=;")
		if eq < 0 {
			break
		}
		if s[eq] == ';' {
			s = s[eq:]
			continue
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			val = b.String()
			s = s[min(i+1, len(s)):]
			if j := strings.IndexByte(s, ';'); j >= 0 {
				s = s[j:]
			} else {
				s = ""
			}
		} else {
			j := strings.IndexByte(s, ';')
			if j < 0 {
				j = len(s)
			}
			val = strings.TrimSpace(s[:j])
			s = s[j:]
		}
		if key == "" {
			continue
		}
		name, star, isExt := strings.Cut(key, "*")
		switch {
		case !isExt:
			if _, dup := plain[name]; !dup {
				plain[name] = val
			}
		case star == "":
			if _, dup := ext[name]; !dup {
				ext[name] = val
			}
		default:
			nstr, enc := strings.CutSuffix(star, "*")
			n := 0
			for _, c := range nstr {
				if c < '0' || c > '9' || n > 1000 {
					n = -1
					break
				}
				n = n*10 + int(c-'0')
			}
			if n < 0 || nstr == "" {
				continue
			}
			if cont[name] == nil {
				cont[name] = map[int]segment{}
			}
			if _, dup := cont[name][n]; !dup {
				cont[name][n] = segment{val, enc}
			}
		}
	}
	out := plain
	for name, v := range ext {
		if d, ok := decode2231(v); ok {
			out[name] = d
		}
	}
	for name, segs := range cont {
		var cs string
		var raw []byte
		for i := 0; ; i++ {
			seg, ok := segs[i]
			if !ok {
				break
			}
			val := seg.value
			if seg.encoded {
				if i == 0 {
					parts := strings.SplitN(val, "'", 3)
					if len(parts) == 3 {
						cs, val = parts[0], parts[2]
					}
				}
				if u, err := url.PathUnescape(val); err == nil {
					val = u
				}
			}
			raw = append(raw, val...)
		}
		if len(raw) > 0 {
			out[name] = decodeCharset(cs, raw)
		}
	}
	return out
}

// decode2231 decodes an RFC 2231 extended value: charset'language'percent-encoded.
func decode2231(v string) (string, bool) {
	parts := strings.SplitN(v, "'", 3)
	if len(parts) != 3 {
		return "", false
	}
	u, err := url.PathUnescape(parts[2])
	if err != nil {
		u = parts[2]
	}
	return decodeCharset(parts[0], []byte(u)), true
}

// fileName picks and decodes an attachment's name: Content-Disposition's filename, else
// Content-Type's name; encoded words (RFC 2047, which many mailers use in parameters) and
// raw 8-bit bytes decoded. Not yet made safe: core.SafeFileName does that.
func fileName(disp, ctype string) string { return fileNameWith(nil, disp, ctype) }

// fileNameWith is fileName with raw 8-bit bytes decoded as the mail's other undeclared
// text (guesser).
func fileNameWith(g *guesser, disp, ctype string) string {
	name := disp
	if strings.TrimSpace(name) == "" {
		name = ctype
	}
	return strings.TrimSpace(decodeWordsWith(g, name))
}

// emlName names a returned or forwarded message.
func emlName(name string) string {
	if name == "" {
		return "message.eml"
	}
	if !strings.HasSuffix(strings.ToLower(name), ".eml") {
		name += ".eml"
	}
	return name
}

// defaultExt names files that arrive without a name.
var defaultExt = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/bmp": ".bmp", "image/tiff": ".tif", "application/pdf": ".pdf", "application/zip": ".zip",
	"text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
	"text/x-vcard": ".vcf", "text/vcard": ".vcf",
}

// nameOr returns name, or a name made from the type when there is none.
func nameOr(name, typ string) string {
	if name != "" {
		return name
	}
	if typ == "application/ms-tnef" || typ == "application/vnd.ms-tnef" {
		return "winmail.dat"
	}
	return "attachment" + defaultExt[typ]
}

// wordDecoder decodes RFC 2047 encoded words in any charset go-message's charset package
// knows; an unknown charset is not an error but a guess (guesser).
var wordDecoder = newWordDecoder(nil)

func newWordDecoder(g *guesser) *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeCharsetWith(g, cs, data)), nil
	}}
}

// decodeWords decodes a header value knowing nothing of its mail (see decodeWordsWith).
func decodeWords(v string) string { return decodeWordsWith(nil, v) }

// decodeWordsWith decodes a header value: raw 8-bit bytes that are not UTF-8 are decoded as
// the mail's other undeclared text is (guesser), then encoded words are decoded; a broken
// word is left as it is.
func decodeWordsWith(g *guesser, v string) string {
	if !utf8.ValidString(v) {
		v = g.decode([]byte(v))
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	dec := wordDecoder
	if g != nil {
		dec = newWordDecoder(g)
	}
	d, err := dec.DecodeHeader(v)
	if err != nil {
		return v
	}
	return strings.ToValidUTF8(d, "\uFFFD")
}

// fix8bit makes a header value valid UTF-8: UTF-8 (RFC 6532) stays, anything else is
// guessed from the value alone.
func fix8bit(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return (*guesser)(nil).decode([]byte(v))
}

// cleanSubject turns control characters into spaces, folds white space and bounds the length.
func cleanSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		// A control character or line separator becomes a space, so that words it stood
		// between stay apart and no subject shows an injected line anywhere.
		case unicode.IsSpace(r), unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxSubjectChars {
		s = string([]rune(s)[:maxSubjectChars])
	}
	return s
}

// bracketed finds <addr@domain> in a header value that net/mail could not parse.
var (
	bracketed = regexp.MustCompile(`<([^<>\s@]+@[^<>\s@]+)>`)
	bare      = regexp.MustCompile(`[^\s<>()\[\],;:"@]+@[^\s<>()\[\],;:"@]+`)
)

// addressList reads the addresses of address header fields, lower-cased and valid, in
// order. A field net/mail refuses (odd display names, unknown charsets in encoded words,
// unbalanced quotes) is searched for <addr> and then bare addr@domain instead.
func addressList(values []string) []string {
	var out []string
	for _, v := range values {
		v = fix8bit(v)
		var found []string
		if list, err := gomail.ParseAddressList(v); err == nil {
			for _, a := range list {
				found = append(found, a.Address)
			}
		} else if m := bracketed.FindAllStringSubmatch(v, -1); len(m) > 0 {
			for _, s := range m {
				found = append(found, s[1])
			}
		} else {
			found = bare.FindAllString(v, -1)
		}
		for _, a := range found {
			if a = strings.ToLower(strings.TrimSpace(a)); validAddress(a) {
				out = append(out, a)
			}
		}
	}
	return out
}

func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > maxAddressBytes || !utf8.ValidString(a) {
		return false
	}
	for _, r := range a {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// messageID returns the message's Message-ID without brackets, or "" when it has none
// that is usable (empty, over 998 bytes, white space inside).
func messageID(h textproto.Header) string {
	mh := gomail.Header{Header: message.Header{Header: h}}
	if id, err := mh.MessageID(); err == nil && id != "" {
		if validMsgID(id) {
			return id
		}
		return ""
	}
	if ids := lenientMsgIDs(h.Get("Message-Id")); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// msgIDList reads In-Reply-To or References: every field of that name, go-message's parser
// first and a lenient reading (unbracketed IDs, comments, junk between) where it fails.
func msgIDList(h textproto.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		var one textproto.Header
		one.Set(key, v)
		mh := gomail.Header{Header: message.Header{Header: one}}
		ids, err := mh.MsgIDList(key)
		if err != nil {
			ids = lenientMsgIDs(v)
		}
		for _, id := range ids {
			if validMsgID(id) {
				out = append(out, id)
			}
		}
	}
	return dedupe(out)
}

// lenientMsgIDs finds message IDs in "<a@b> <c@d>", "a@b c@d", "<a@b> (comment), c@d".
func lenientMsgIDs(v string) []string {
	var out []string
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == '<':
			j := strings.IndexByte(v[i+1:], '>')
			tok := ""
			if j < 0 {
				tok, i = v[i+1:], len(v)
			} else {
				tok, i = v[i+1:i+1+j], i+j+2
			}
			if tok = strings.TrimSpace(tok); validMsgID(tok) {
				out = append(out, tok)
			}
		case c == '(':
			j := strings.IndexByte(v[i:], ')')
			if j < 0 {
				i = len(v)
			} else {
				i += j + 1
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ';':
			i++
		default:
			j := strings.IndexAny(v[i:], " \t\r\n,;<(")
			if j < 0 {
				j = len(v) - i
			}
			if tok := v[i : i+j]; strings.Contains(tok, "@") && validMsgID(tok) {
				out = append(out, tok)
			}
			i += j
		}
	}
	return out
}

func validMsgID(id string) bool {
	if id == "" || len(id) > maxMessageIDBytes || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// date reads the Date field; zero when it has none that parses.
func date(h textproto.Header) time.Time {
	mh := gomail.Header{Header: message.Header{Header: h}}
	t, err := mh.Date()
	if err != nil {
		return time.Time{}
	}
	return t
}

// firstToken returns a value up to its first ';', space or comment, trimmed.
func firstToken(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, "; \t("); i >= 0 {
		v = v[:i]
	}
	return v
}

// originalMessageID reads the Message-ID from the header of a returned message (the start
// of a message/rfc822 or text/rfc822-headers part).
func originalMessageID(head []byte) string {
	h, _ := textproto.ReadHeader(bufio.NewReader(newLFReader(bytes.NewReader(head))))
	return messageID(h)
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// decodeCharset converts text in the named charset to UTF-8, knowing nothing of its mail
// (see decodeCharsetWith).
func decodeCharset(cs string, data []byte) string { return decodeCharsetWith(nil, cs, data) }

// decodeCharsetWith converts text in the named charset to UTF-8 with go-message's charset
// package (every charset golang.org/x/text knows); an unknown or absent charset, or UTF-8
// that is not, is guessed (guesser). The result is valid UTF-8.
func decodeCharsetWith(g *guesser, cs string, data []byte) string {
	cs = normCharset(cs)
	if noCharset[cs] || cs == "utf-8" || cs == "utf8" {
		return g.decode(data)
	}
	r, err := charset.Reader(cs, bytes.NewReader(data))
	if err != nil {
		return g.decode(data)
	}
	out, _ := io.ReadAll(r) // what decoded before an error is kept
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// toUTF8 decodes text in charset cs, or of an unknown charset when cs is "", knowing
// nothing of its mail (guesser).
func toUTF8(cs string, data []byte) string { return decodeCharsetWith(nil, cs, data) }
