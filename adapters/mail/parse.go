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
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"

	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
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
	// ThreadSecret checks the Thread-Index of a reply against ours (ThreadIndex), so an
	// Outlook reply without In-Reply-To still names its ticket; nil ignores Thread-Index.
	ThreadSecret []byte
	// Auth says how a From is proven genuine (Inbound.Authenticated); the zero value proves
	// none.
	Auth Authentication
	// Stage, when set, keeps each file while it is decoded (the daemon's blob store), so
	// that no file is ever held whole: it reads r to its end and returns the kept file, or
	// nil and the size r held when that is over the limit. The File then has Staged set and
	// no Data. An error (the store failing) ends the parse with that error. HTML parts,
	// which may turn out to be the body, are still read within the text budget.
	Stage func(name, contentType string, r io.Reader) (*core.FileRef, int64, error)
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

// ErrNoSender is returned for a message with no usable address in From, Sender or Reply-To
// that is not a bounce either (a bounce needs no sender: it is never answered).
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
func Parse(raw []byte, opts Options) (gateway.Inbound, error) {
	sum := sha256.Sum256(raw)
	return parse(bytes.NewReader(raw), int64(len(raw)), "sha256:"+hex.EncodeToString(sum[:]), opts)
}

// ParseReader is Parse of the size bytes of raw (a file, say), read as the walk goes: only
// the header and the bounded text are held, and with Options.Stage no file is, so a mail
// at the size limit costs about as much memory as a small one. A read error of raw is
// returned like any other.
func ParseReader(raw io.ReaderAt, size int64, opts Options) (gateway.Inbound, error) {
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(raw, 0, size)); err != nil {
		return gateway.Inbound{Channel: core.ChannelEmail}, fmt.Errorf("read mail: %w", err)
	}
	return parse(raw, size, "sha256:"+hex.EncodeToString(sum.Sum(nil)), opts)
}

func parse(raw io.ReaderAt, size int64, key string, opts Options) (in gateway.Inbound, err error) {
	in = gateway.Inbound{Channel: core.ChannelEmail, Key: key}
	defer func() {
		if r := recover(); r != nil {
			recoveredPanics.Add(1)
			err = fmt.Errorf("parse mail: internal error: %v", r)
		}
	}()
	if blank(io.NewSectionReader(raw, 0, size)) {
		return in, errors.New("empty message")
	}

	h, body := readTopHeader(raw, size)
	if h.Len() == 0 {
		return in, errors.New("no header fields")
	}
	p := &parser{opts: opts.withDefaults(), in: &in}
	p.plainLeft, p.htmlLeft = p.opts.MaxTextBytes, p.opts.MaxTextBytes
	p.header(h)
	if id, ok := TicketFromThreadIndex(p.opts.ThreadSecret, h.Get("Thread-Index")); ok {
		in.ReplyToTicket = id
	}

	p.noteHeader(h)
	pieces := p.entity(h, body, walkContext{})
	p.redecode8bit(h)
	var bodyHTML string
	in.Text, bodyHTML = p.body(pieces)
	in.Visible = visibleText(in.Text, bodyHTML, p.opts.MaxTextBytes)
	p.classify(h)
	if p.stageErr != nil {
		return in, fmt.Errorf("keep attachment: %w", p.stageErr)
	}
	in.Authenticated = fromHeader(h, in.From) && authenticatedReader(io.NewSectionReader(raw, 0, size), h, in.From, p.opts.Auth)
	if in.From == "" && in.Report == nil {
		return in, ErrNoSender
	}
	return in, nil
}

// blank reports whether r holds only white space (as bytes.TrimSpace sees it); it stops
// at the first other character, so a real mail costs one read.
func blank(r io.Reader) bool {
	br := bufio.NewReaderSize(r, 64) // enough for a rune; a real mail stops at its first byte
	for {
		c, _, err := br.ReadRune()
		if err != nil {
			return true
		}
		if !unicode.IsSpace(c) {
			return false
		}
	}
}

// readTopHeader reads the message's header. Where go-message's reader refuses it (a line
// without a colon, a field name with a space, a continuation line first), the lines that
// are not fields are dropped and the header is read again.
func readTopHeader(raw io.ReaderAt, size int64) (textproto.Header, *bufio.Reader) {
	br := bufio.NewReader(io.NewSectionReader(raw, 0, size))
	h, err := textproto.ReadHeader(br)
	if err == nil {
		return h, br
	}
	head, rest := splitHeader(io.NewSectionReader(raw, 0, size))
	br = bufio.NewReader(io.MultiReader(bytes.NewReader(sanitizeHeader(head)), io.NewSectionReader(raw, rest, size-rest)))
	h, _ = textproto.ReadHeader(br)
	return h, br
}

// splitHeader reads r up to its first empty line and returns the lines before it and where
// the body starts; with no empty line all of r is header.
func splitHeader(r io.Reader) (head []byte, rest int64) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			head = append(head, line...)
			return head, int64(len(head))
		}
		if len(bytes.TrimRight(line[:len(line)-1], "\r")) == 0 {
			return head, int64(len(head) + len(line))
		}
		head = append(head, line...)
	}
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
	// complaint: a message/feedback-report part was seen (RFC 5965), wherever it was.
	complaint bool
	// guess decodes the mail's undeclared 8-bit text; renames are the files named so.
	guess   guesser
	renames []rename
	// groups counts the alternatives chosen, to number their pieces.
	groups int
	// returned holds the start of each returned message kept as a file, in order, for a
	// report that does not name the message it is about.
	returned [][]byte
	// stageErr is Options.Stage's error, which ends the walk.
	stageErr error
}

// walkContext is what an entity knows of where it is.
type walkContext struct {
	depth int
	// defaultType is the type of a part without Content-Type: message/rfc822 in a
	// multipart/digest, text/plain elsewhere (RFC 2046 §5.1.5).
	defaultType string
	// inReport is set for the direct parts of a multipart/report.
	inReport bool
	// alternative is set for the direct parts of a multipart/alternative: renderings of
	// the body, never files, even when named.
	alternative bool
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
	if ct.typ == "message/feedback-report" {
		p.complaint = true
	}
	disp, dparams := parseValue(h.Get("Content-Disposition"))
	name := fileName(dparams["filename"], ct.params["name"])
	attachment := disp == "attachment"
	// A named text part is a file (a Makefile, a log) even inline, except the message's
	// only part or an alternative of the body.
	bodyText := !attachment && (name == "" || wc.depth == 0 || wc.alternative)
	raw8bit := !utf8.ValidString(dparams["filename"]) || !utf8.ValidString(ct.params["name"])
	if raw8bit {
		p.guess.note([]byte(dparams["filename"]))
		p.guess.note([]byte(ct.params["name"]))
	}
	files := len(p.in.Attachments)

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
	case (ct.typ == "text/plain" || ct.typ == "text/html") && bodyText:
		return p.text(h, ct, body)
	case strings.HasPrefix(ct.typ, "text/"):
		// Every other text part is a file, never dropped; but another rendering of the
		// body (text/enriched, text/watch-html) is not one.
		if attachment || name != "" || !wc.alternative {
			p.declareText(ct)
			p.attach(h, ct.typ, nameOr(name, ct.typ), body)
		}
	default:
		if attachment || name != "" || !unnamedSkipped[ct.typ] {
			p.attach(h, ct.typ, nameOr(name, ct.typ), body)
		}
	}
	if raw8bit && len(p.in.Attachments) == files+1 {
		// Named before the mail's charset was known: named again after the walk.
		p.renames = append(p.renames, rename{at: files, disp: dparams["filename"], ctype: ct.params["name"], typ: ct.typ})
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
	child := walkContext{depth: wc.depth + 1, defaultType: "text/plain", inReport: ct.typ == "multipart/report",
		alternative: ct.typ == "multipart/alternative"}
	if ct.typ == "multipart/digest" {
		child.defaultType = "message/rfc822"
	}

	mr := textproto.NewMultipartReader(newBoundaryLines(br, boundary), boundary)
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
		children = append(children, p.entity(part.Header, newTrailingCR(part), child))
	}
	if ct.typ == "multipart/alternative" {
		return p.chooseAlternative(children)
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

// text reads a text/plain or text/html part within the text budgets. An HTML part is read
// as a file too, up to MaxAttachmentBytes, in case it does not end up as the body.
func (p *parser) text(h textproto.Header, ct mediaType, body io.Reader) []piece {
	p.declareText(ct)
	if ct.typ != "text/html" {
		if p.plainLeft <= 0 {
			return nil
		}
		data, _, _ := readUpTo(decodeTransfer(h, body), p.plainLeft)
		s := cutUTF8(p.decodeText(ct.params["charset"], data), p.plainLeft)
		p.plainLeft -= int64(len(s))
		return []piece{{text: s}}
	}
	data, size, tooLarge := readUpTo(decodeTransfer(h, body), max(p.htmlLeft, p.opts.MaxAttachmentBytes))
	f := &gateway.File{Name: nameOr("", ct.typ), ContentType: ct.typ, Size: size, TooLarge: tooLarge}
	if !tooLarge {
		f.Data = data
	}
	pc := piece{html: true, file: f, at: len(p.in.Attachments)}
	if p.htmlLeft > 0 {
		pc.text = cutUTF8(p.decodeText(ct.params["charset"], data[:min(int64(len(data)), p.htmlLeft)]), p.htmlLeft)
		p.htmlLeft -= int64(len(pc.text))
	}
	return []piece{pc}
}

// attach keeps a part as a file: its data within MaxAttachmentBytes (or staged by
// Options.Stage), or TooLarge with its size, counted without holding more than the limit.
// It returns the first bytes read (at most maxReportBytes) for a caller that needs a
// returned message's header.
func (p *parser) attach(h textproto.Header, typ, name string, body io.Reader) []byte {
	f := gateway.File{Name: core.SafeFileName(name), ContentType: typ}
	returned := typ == "message/rfc822" || typ == "message/global" || typ == "text/rfc822-headers"
	var head []byte
	if p.opts.Stage != nil {
		var r io.Reader = endOnError{decodeTransfer(h, body)}
		hb := &headBuffer{max: maxReportBytes}
		if returned {
			// Only the start is kept: all a report needs of a returned message.
			r = io.TeeReader(r, hb)
		}
		ref, size, err := p.opts.Stage(f.Name, typ, r)
		if err != nil {
			p.stageErr, p.stop = err, true
			return hb.b
		}
		f.Size, f.TooLarge, f.Staged, head = size, ref == nil, ref, hb.b
	} else {
		data, size, tooLarge := readUpTo(decodeTransfer(h, body), p.opts.MaxAttachmentBytes)
		f.Size, f.TooLarge = size, tooLarge
		if !tooLarge {
			f.Data = data
		}
		head = data[:min(len(data), maxReportBytes)]
	}
	p.in.Attachments = append(p.in.Attachments, f)
	if returned && !f.TooLarge {
		p.returned = append(p.returned, head)
	}
	return head
}

// header fills what the top-level header says.
func (p *parser) header(h textproto.Header) {
	in := p.in
	if id := messageID(h); id != "" {
		in.Key = id
	}
	in.Subject = cleanSubject(decodeWords(h.Get("Subject")))
	in.From = sender(h)
	var to []string
	for _, k := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"} {
		to = append(to, addressList(h.Values(k))...)
	}
	in.To = dedupe(to)
	in.InReplyTo = msgIDList(h, "In-Reply-To")
	in.References = msgIDList(h, "References")
	in.Date = date(h)
	in.AutomaticReason = automatic(h, in.From, in.Subject)
	in.Automatic = in.AutomaticReason != ""
	in.NullSender = nullSender(h, in.From)
}
