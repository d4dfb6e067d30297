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
		return base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Filter drops every byte that is not in the base64 alphabet or '='.
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for i, c := range p[:n] {
			if !base64Alphabet[c] {
				continue
			}
			if k != i {
				p[k] = c
			}
			k++
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// base64Alphabet marks the bytes a base64 body may hold (RFC 2045 §6.8), padding included.
var base64Alphabet = func() (a [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
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

// lfReader turns CRLF line ends into LF while streaming, so that a message mixing both is
// read with one kind of boundary line. A lone CR is kept.
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
