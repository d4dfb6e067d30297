package mail

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-message/textproto"

	"helpdeskd/adapters/mail/reply"
	"helpdeskd/core"
	"helpdeskd/gateway"
)

// Limits applied where Options leaves a field zero.
const (
	DefaultMaxParts     = 200
	DefaultMaxDepth     = 10
	DefaultMaxTextBytes = 4 << 20
)

// Limits that are not options.
const (
	// maxSubjectChars bounds the decoded subject: RFC 5322's line length is plenty, and the
	// pipeline cuts it further.
	maxSubjectChars = 998
	// maxMessageIDBytes: a longer message ID is absurd (RFC 5322 §2.1.1 line length).
	maxMessageIDBytes = 998
	// maxAddressBytes: RFC 5321 §4.5.3.1 allows 64 + 1 + 255.
	maxAddressBytes = 320
	// maxReportBytes bounds how much of a delivery-status part, or of a returned message's
	// header, is read.
	maxReportBytes = 64 << 10
	// maxReportBlocks bounds the per-recipient blocks read from a delivery-status part.
	maxReportBlocks = 1000
	// maxResyncErrors bounds the malformed lines one multipart may skip while it looks for
	// its next boundary.
	maxResyncErrors = 1000
	// boundaryPeekBytes is how far into a multipart body its boundary is looked for.
	boundaryPeekBytes = 16 << 10
)

// Options bounds what Parse reads. The zero value means the defaults.
type Options struct {
	// MaxAttachmentBytes is the largest file kept; a larger one is returned with TooLarge
	// set, its real Size and no Data. Zero means core.DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int64
	// MaxParts bounds the MIME parts visited (containers included); past it Parse stops
	// reading and keeps what it found. Default DefaultMaxParts.
	MaxParts int
	// MaxDepth bounds the nesting of multiparts; deeper ones are not read. Default
	// DefaultMaxDepth.
	MaxDepth int
	// MaxTextBytes bounds the body text (and, separately, the HTML it may be made from).
	// Default DefaultMaxTextBytes.
	MaxTextBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = core.DefaultMaxAttachmentBytes
	}
	if o.MaxParts <= 0 {
		o.MaxParts = DefaultMaxParts
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	return o
}

// ErrNoSender is returned for a message without a usable From address.
var ErrNoSender = errors.New("no sender address")

// recoveredPanics counts the panics Parse turned into errors; the tests fail if it is not 0.
var recoveredPanics atomic.Int64

// Parse decodes a raw RFC 5322 message into a gateway.Inbound (Channel email). It never
// panics; a message it cannot make sense of at all returns an error saying why (the caller
// keeps it in the failed mailbox). Whatever can be salvaged is salvaged: a broken part is
// skipped, not fatal.
//
// Even with an error the returned Inbound carries the Key and whatever else was decoded
// (the Subject, say), so that the caller can record the failure.
func Parse(raw []byte, opts Options) (in gateway.Inbound, err error) {
	sum := sha256.Sum256(raw)
	in = gateway.Inbound{Channel: core.ChannelEmail, Key: "sha256:" + hex.EncodeToString(sum[:])}
	defer func() {
		if r := recover(); r != nil {
			recoveredPanics.Add(1)
			err = fmt.Errorf("parse mail: internal error: %v", r)
		}
	}()
	if len(bytes.TrimSpace(raw)) == 0 {
		return in, errors.New("empty message")
	}

	h, body := readTopHeader(raw)
	if h.Len() == 0 {
		return in, errors.New("no header fields")
	}
	p := &parser{opts: opts.withDefaults(), in: &in}
	p.plainLeft, p.htmlLeft = p.opts.MaxTextBytes, p.opts.MaxTextBytes
	p.header(h)

	pieces := p.entity(h, body, walkContext{})
	in.Text = assembleText(pieces, p.opts.MaxTextBytes)
	in.Visible = reply.Visible(in.Text)
	if in.Report != nil {
		in.Automatic = true
	}
	if in.From == "" {
		return in, ErrNoSender
	}
	return in, nil
}

// readTopHeader reads the message's header. Where go-message's reader refuses it (a line
// without a colon, a field name with a space, a continuation line first), the lines that
// are not fields are dropped and the header is read again.
func readTopHeader(raw []byte) (textproto.Header, *bufio.Reader) {
	br := bufio.NewReader(newLFReader(bytes.NewReader(raw)))
	h, err := textproto.ReadHeader(br)
	if err == nil {
		return h, br
	}
	head, rest := splitHeader(raw)
	br = bufio.NewReader(io.MultiReader(bytes.NewReader(sanitizeHeader(head)), newLFReader(bytes.NewReader(rest))))
	h, _ = textproto.ReadHeader(br)
	return h, br
}

// splitHeader cuts raw at the first empty line.
func splitHeader(raw []byte) (head, rest []byte) {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		line := bytes.TrimRight(raw[i:i+j], "\r")
		if len(line) == 0 {
			return raw[:i], raw[i+j+1:]
		}
		i += j + 1
	}
	return raw, nil
}

// sanitizeHeader keeps the lines of a header block that are fields or continue a kept
// field, and ends the block with an empty line.
func sanitizeHeader(head []byte) []byte {
	var out bytes.Buffer
	kept, seen := false, false
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			trimmed := bytes.TrimLeft(line, " \t")
			if seen || !isFieldLine(trimmed) {
				if kept {
					out.Write(line)
					out.WriteByte('\n')
				}
				continue
			}
			line = trimmed // a field indented by mistake before any other
		}
		kept = isFieldLine(line)
		if kept {
			seen = true
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// isFieldLine reports whether line starts with a field name and a colon (RFC 5322 §2.2,
// spaces before the colon tolerated as go-message does).
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// parser holds the state of one Parse.
type parser struct {
	opts  Options
	in    *gateway.Inbound
	parts int
	stop  bool // MaxParts reached: read nothing more
	// plainLeft and htmlLeft are what is left of the text budgets.
	plainLeft, htmlLeft int64
}

// walkContext is what an entity knows of where it is.
type walkContext struct {
	depth int
	// defaultType is the type of a part without Content-Type: message/rfc822 in a
	// multipart/digest, text/plain elsewhere (RFC 2046 §5.1.5).
	defaultType string
	// inReport is set for the direct parts of a multipart/report.
	inReport bool
}

// piece is a candidate for the body text.
type piece struct {
	html bool
	text string
}

// entity reads one MIME entity (the message or a part) and returns its text candidates;
// attachments and the delivery report go straight into p.in.
func (p *parser) entity(h textproto.Header, body io.Reader, wc walkContext) []piece {
	if p.stop {
		return nil
	}
	p.parts++
	if p.parts > p.opts.MaxParts {
		p.stop = true
		return nil
	}
	ct := contentType(h, wc.defaultType)
	disp, dparams := parseValue(h.Get("Content-Disposition"))
	name := fileName(dparams["filename"], ct.params["name"])
	attachment := disp == "attachment"

	switch {
	case strings.HasPrefix(ct.typ, "multipart/"):
		if wc.depth >= p.opts.MaxDepth {
			return nil
		}
		return p.multipart(ct, body, wc)
	case ct.typ == "message/rfc822" || ct.typ == "message/global":
		head := p.attach(h, ct.typ, emlName(name), body)
		if wc.inReport && p.in.Report != nil && p.in.Report.OriginalMessageID == "" {
			p.in.Report.OriginalMessageID = originalMessageID(head)
		}
	case ct.typ == "message/delivery-status" || ct.typ == "message/global-delivery-status":
		if p.in.Report == nil {
			p.in.Report = &gateway.DeliveryReport{}
		}
		readDeliveryStatus(p.in.Report, io.LimitReader(decodeTransfer(h, body), maxReportBytes))
	case ct.typ == "text/rfc822-headers" || ct.typ == "message/global-headers":
		if wc.inReport && p.in.Report != nil && p.in.Report.OriginalMessageID == "" {
			head, _ := io.ReadAll(io.LimitReader(decodeTransfer(h, body), maxReportBytes))
			p.in.Report.OriginalMessageID = originalMessageID(head)
		}
	case (ct.typ == "text/plain" || ct.typ == "text/html") && !attachment:
		return p.text(h, ct, body)
	case strings.HasPrefix(ct.typ, "text/"):
		if attachment || name != "" {
			p.attach(h, ct.typ, nameOr(name, ct.typ), body)
		}
	default:
		if attachment || name != "" || !unnamedSkipped[ct.typ] {
			p.attach(h, ct.typ, nameOr(name, ct.typ), body)
		}
	}
	return nil
}

// unnamedSkipped are the non-text types that are part of a message's structure rather than
// files: kept only when they are named or marked as attachments.
var unnamedSkipped = map[string]bool{
	"application/pgp-signature":        true,
	"application/pgp-encrypted":        true,
	"application/pkcs7-signature":      true,
	"application/x-pkcs7-signature":    true,
	"message/disposition-notification": true,
	"message/feedback-report":          true,
}

// multipart reads the parts of a multipart entity.
func (p *parser) multipart(ct mediaType, body io.Reader, wc walkContext) []piece {
	br := bufio.NewReaderSize(body, boundaryPeekBytes)
	peek, _ := br.Peek(boundaryPeekBytes)
	boundary := ct.params["boundary"]
	if boundary == "" || !bytes.Contains(peek, []byte("--"+boundary)) {
		if guess := guessBoundary(peek); guess != "" {
			boundary = guess
		} else if boundary == "" {
			// No boundary at all: the body is all there is.
			return p.text(textproto.Header{}, mediaType{typ: "text/plain"}, br)
		}
	}
	if ct.typ == "multipart/report" && strings.EqualFold(ct.params["report-type"], "delivery-status") && p.in.Report == nil {
		p.in.Report = &gateway.DeliveryReport{}
	}
	if ct.typ == "multipart/report" {
		p.in.Automatic = true
	}
	child := walkContext{depth: wc.depth + 1, defaultType: "text/plain", inReport: ct.typ == "multipart/report"}
	if ct.typ == "multipart/digest" {
		child.defaultType = "message/rfc822"
	}

	mr := textproto.NewMultipartReader(br, boundary)
	var children [][]piece
	errs := 0
	for !p.stop {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A read error ("NextPart: …", the body ended without its final boundary)
			// repeats for ever; a malformed line or part header costs one line each time,
			// so trying again finds the next boundary.
			errs++
			if errs > maxResyncErrors || strings.HasPrefix(err.Error(), "multipart: NextPart:") {
				break
			}
			continue
		}
		children = append(children, p.entity(part.Header, part, child))
	}
	if ct.typ == "multipart/alternative" {
		return chooseAlternative(children)
	}
	var all []piece
	for _, c := range children {
		all = append(all, c...)
	}
	return all
}

// guessBoundary finds a boundary in the start of a multipart body that names none or names
// one it does not use: the first "--x" line followed by a Content- field.
func guessBoundary(peek []byte) string {
	lines := bytes.Split(peek, []byte("\n"))
	for i := 0; i+1 < len(lines); i++ {
		line := bytes.TrimRight(lines[i], " \t\r")
		if len(line) <= 2 || !bytes.HasPrefix(line, []byte("--")) || len(line) > 72 {
			continue
		}
		next := bytes.ToLower(lines[i+1])
		if !bytes.HasPrefix(next, []byte("content-")) {
			continue
		}
		return string(line[2:])
	}
	return ""
}

// chooseAlternative picks what multipart/alternative offers: the first alternative with
// plain text, else the first with HTML.
func chooseAlternative(children [][]piece) []piece {
	for _, c := range children {
		for _, pc := range c {
			if !pc.html && strings.TrimSpace(pc.text) != "" {
				return c
			}
		}
	}
	for _, c := range children {
		for _, pc := range c {
			if pc.html {
				return c
			}
		}
	}
	return nil
}

// text reads a text/plain or text/html part within the text budgets.
func (p *parser) text(h textproto.Header, ct mediaType, body io.Reader) []piece {
	isHTML := ct.typ == "text/html"
	left := &p.plainLeft
	if isHTML {
		left = &p.htmlLeft
	}
	if *left <= 0 {
		return nil
	}
	data, _, _ := readUpTo(decodeTransfer(h, body), *left)
	s := cutUTF8(toUTF8(ct.params["charset"], data), *left)
	*left -= int64(len(s))
	return []piece{{html: isHTML, text: s}}
}

// attach keeps a part as a file: its data within MaxAttachmentBytes, or TooLarge with its
// size, counted without holding more than the limit. It returns the first bytes read (at
// most maxReportBytes) for a caller that needs a returned message's header.
func (p *parser) attach(h textproto.Header, typ, name string, body io.Reader) []byte {
	data, size, tooLarge := readUpTo(decodeTransfer(h, body), p.opts.MaxAttachmentBytes)
	f := gateway.File{Name: core.SafeFileName(name), ContentType: typ, Size: size, TooLarge: tooLarge}
	if !tooLarge {
		f.Data = data
	}
	p.in.Attachments = append(p.in.Attachments, f)
	if len(data) > maxReportBytes {
		data = data[:maxReportBytes]
	}
	return data
}

// header fills what the top-level header says.
func (p *parser) header(h textproto.Header) {
	in := p.in
	if id := messageID(h); id != "" {
		in.Key = id
	}
	in.Subject = cleanSubject(decodeWords(h.Get("Subject")))
	if from := addressList(h.Values("From")); len(from) > 0 {
		in.From = from[0]
	}
	var to []string
	for _, k := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"} {
		to = append(to, addressList(h.Values(k))...)
	}
	in.To = dedupe(to)
	in.InReplyTo = msgIDList(h, "In-Reply-To")
	in.References = msgIDList(h, "References")
	in.Date = date(h)
	in.Automatic = automatic(h)
	in.NullSender = nullSender(h, in.From)
}

// assembleText joins the plain-text pieces; with none (or only blank ones) it converts the
// HTML pieces. The result is valid UTF-8 with LF line ends, at most max bytes.
func assembleText(pieces []piece, max int64) string {
	var plain, html []string
	for _, pc := range pieces {
		t := cleanText(pc.text)
		if pc.html {
			html = append(html, t)
		} else if strings.TrimSpace(t) != "" {
			plain = append(plain, t)
		}
	}
	text := strings.Join(plain, "\n\n")
	if strings.TrimSpace(text) == "" && len(html) > 0 {
		var conv []string
		for _, h := range html {
			if t := cleanText(htmlToText(h)); t != "" {
				conv = append(conv, t)
			}
		}
		text = strings.Join(conv, "\n\n")
	}
	return cutUTF8(strings.ToValidUTF8(text, "\uFFFD"), max)
}
