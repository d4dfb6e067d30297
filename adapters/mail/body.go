package mail

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// decodeTransfer undoes a part's Content-Transfer-Encoding (RFC 2045 §6). Base64 is read
// past anything outside its alphabet (line noise, a stray '!'); an unknown encoding is
// passed through as it is.
func decodeTransfer(h textproto.Header, r io.Reader) io.Reader {
	switch strings.ToLower(firstToken(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return &base64Reader{r: r}
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Reader decodes base64 while streaming, leniently: bytes outside the alphabet are
// skipped, the first '=' ends the data (RFC 2045 §6.8), and a last group of two or three
// characters still yields its one or two whole bytes, which encoding/base64's decoder
// drops when the padding is missing or short.
type base64Reader struct {
	r    io.Reader
	in   [base64Chunk]byte
	q    [4]byte // characters of a group not yet complete
	nq   int
	out  []byte // decoded, not yet returned
	obuf [base64Chunk/4*3 + 3]byte
	err  error // from r, or io.EOF after '='
}

// base64Chunk is how much encoded input one Read of the source takes.
const base64Chunk = 8 << 10

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.fill()
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// fill reads one chunk of the source and decodes every whole group in it; at the end of
// the data it decodes the partial group too.
func (b *base64Reader) fill() {
	n, err := b.r.Read(b.in[:])
	// Compact the alphabet characters behind the pending ones, in place.
	chars := b.in[:0]
	for _, c := range b.in[:n] {
		if c == '=' {
			err = io.EOF
			break
		}
		if base64Alphabet[c] {
			chars = append(chars, c)
		}
	}
	out := b.obuf[:0]
	for len(chars) > 0 {
		if b.nq == 0 && len(chars) >= 4 {
			whole := len(chars) / 4 * 4
			k, _ := base64.StdEncoding.Decode(out[len(out):cap(out)], chars[:whole])
			out = out[:len(out)+k]
			chars = chars[whole:]
			continue
		}
		k := copy(b.q[b.nq:], chars)
		b.nq += k
		chars = chars[k:]
		if b.nq == 4 {
			k, _ := base64.StdEncoding.Decode(out[len(out):cap(out)], b.q[:])
			out = out[:len(out)+k]
			b.nq = 0
		}
	}
	if err != nil {
		if b.nq >= 2 {
			k, _ := base64.RawStdEncoding.Decode(out[len(out):cap(out)], b.q[:b.nq])
			out = out[:len(out)+k]
		}
		b.nq = 0
		b.err = err
	}
	b.out = out
}

// base64Alphabet marks the bytes of the base64 alphabet (RFC 2045 §6.8), padding aside.
var base64Alphabet = func() (a [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		a[c] = true
	}
	return a
}()

// readUpTo reads r to its end, keeping at most limit bytes: it returns the data and its
// size or, when r holds more, tooLarge, the full size counted without being kept, and as
// data only a copy of the first maxReportBytes (enough for a returned message's header). A
// read error (corrupt base64, a part cut short) ends the data where it happened.
func readUpTo(r io.Reader, limit int64) (data []byte, size int64, tooLarge bool) {
	// The buffer doubles up to limit+1 bytes, so a file costs at most twice its size in
	// allocations and an oversized one at most twice the limit.
	buf := make([]byte, 0, min(limit+1, readChunk))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				break
			}
			next := 2 * int64(cap(buf))
			if next >= limit {
				next = limit + 1
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	if int64(len(buf)) <= limit {
		return buf, int64(len(buf)), false
	}
	head := bytes.Clone(buf[:min(len(buf), maxReportBytes)])
	return head, int64(len(buf)) + count(r), true
}

// readChunk is the first buffer for a part's data, and the buffer that counts the bytes of
// a part over the limit.
const readChunk = 32 << 10

// count reads r to its end and returns how many bytes it held.
func count(r io.Reader) int64 {
	var buf [readChunk]byte
	var n int64
	for {
		k, err := r.Read(buf[:])
		n += int64(k)
		if err != nil {
			return n
		}
	}
}

// cutUTF8 cuts s to at most max bytes without splitting a rune.
func cutUTF8(s string, max int64) string {
	if int64(len(s)) <= max {
		return s
	}
	i := int(max)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// cleanText makes body text LF-ended and free of control characters other than tab and
// newline (NUL included), and valid UTF-8.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n', r == '\t':
			return r
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			return -1
		}
		return r
	}, s)
	return strings.ToValidUTF8(s, "\uFFFD")
}

// lfReader turns CRLF line ends into LF while streaming; a returned message's header is
// read through it. A lone CR is kept. The MIME walk reads the raw bytes (boundaryLines).
type lfReader struct{ br *bufio.Reader }

func newLFReader(r io.Reader) *lfReader { return &lfReader{br: bufio.NewReader(r)} }

func (l *lfReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if _, err := l.br.Peek(1); err != nil {
			return 0, err
		}
		chunk, _ := l.br.Peek(min(l.br.Buffered(), len(p)))
		if chunk[len(chunk)-1] == '\r' {
			if len(chunk) > 1 {
				chunk = chunk[:len(chunk)-1] // decide on this CR with what follows it
			} else {
				_, _ = l.br.Discard(1)
				if next, err := l.br.Peek(1); err == nil && next[0] == '\n' {
					continue
				}
				p[0] = '\r'
				return 1, nil
			}
		}
		n := 0
		for rest := chunk; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\r')
			if i < 0 {
				n += copy(p[n:], rest)
				break
			}
			n += copy(p[n:], rest[:i])
			// A CR at the end of the cut chunk is followed by the CR held back: lone.
			if i+1 == len(rest) || rest[i+1] != '\n' {
				p[n] = '\r'
				n++
			}
			rest = rest[i+1:]
		}
		_, _ = l.br.Discard(len(chunk))
		return n, nil
	}
}

// boundaryLines ends the delimiter lines of one boundary with LF only and passes every other
// byte as it is. The multipart reader (mime/multipart's) picks CRLF or LF from the first
// delimiter line and then finds only that kind, so a message mixing both would lose parts;
// in LF mode it finds "\n--boundary" after CRLF lines too, leaving the CR to the part before
// it (trailingCR drops it). Normalising only these lines keeps every part's bytes exact.
type boundaryLines struct {
	br      *bufio.Reader
	dash    []byte // "--" + boundary
	pending []byte // the rest of the line being passed on, in br's buffer
	start   bool   // the next byte starts a line
}

// lineBuffer holds a line of a multipart body; a longer one cannot be a delimiter line
// (RFC 2046 §5.1.1: boundaries are at most 70 characters) and is passed on in pieces.
const lineBuffer = 4 << 10

func newBoundaryLines(r io.Reader, boundary string) *boundaryLines {
	return &boundaryLines{br: bufio.NewReaderSize(r, lineBuffer), dash: []byte("--" + boundary), start: true}
}

func (b *boundaryLines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(b.pending) == 0 {
			if n > 0 && b.br.Buffered() == 0 {
				break // return what there is rather than wait for more
			}
			line, err := b.br.ReadSlice('\n')
			if len(line) == 0 {
				if n > 0 {
					break
				}
				return 0, err
			}
			if b.start && b.isDelimiter(line) {
				// The line is consumed from br, so its buffer is ours to change.
				line[len(line)-2] = '\n'
				line = line[:len(line)-1]
			}
			b.start = line[len(line)-1] == '\n'
			b.pending = line
		}
		k := copy(p[n:], b.pending)
		n += k
		b.pending = b.pending[k:]
	}
	return n, nil
}

// isDelimiter reports whether line is a delimiter line of the boundary ending in CRLF:
// "--boundary" or "--boundary--", then optional white space (RFC 2046 §5.1.1).
func (b *boundaryLines) isDelimiter(line []byte) bool {
	if !bytes.HasSuffix(line, []byte("\r\n")) || !bytes.HasPrefix(line, b.dash) {
		return false
	}
	rest := bytes.TrimPrefix(line[len(b.dash):len(line)-2], []byte("--"))
	return len(bytes.Trim(rest, " \t")) == 0
}

// trailingCR drops a CR that ends a part: the CR of the CRLF before the boundary, which the
// multipart reader in LF mode leaves in the part (see boundaryLines).
type trailingCR struct{ br *bufio.Reader }

// A small buffer is enough: a Read as large as it goes straight to the part.
func newTrailingCR(r io.Reader) *trailingCR { return &trailingCR{br: bufio.NewReaderSize(r, 64)} }

func (t *trailingCR) Read(p []byte) (int, error) {
	n, err := t.br.Read(p)
	if n > 0 && p[n-1] == '\r' {
		if _, perr := t.br.Peek(1); perr != nil {
			return n - 1, perr
		}
	}
	return n, err
}

// headBuffer keeps the first max bytes written to it and drops the rest.
type headBuffer struct {
	b   []byte
	max int
}

func (hb *headBuffer) Write(p []byte) (int, error) {
	if room := hb.max - len(hb.b); room > 0 {
		hb.b = append(hb.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// endOnError ends the data at a read error (corrupt base64, a part cut short), as readUpTo
// does: a broken part is kept as far as it goes, and the error is not the store's.
type endOnError struct{ r io.Reader }

func (e endOnError) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = io.EOF
	}
	return n, err
}
