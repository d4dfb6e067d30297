package mail

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// The hostile messages too large to commit are made here.

// base64Zeros writes the base64 of n zero bytes in 76-character lines without holding the
// zeros: every 3 zero bytes are "AAAA", 19 of them a line.
func base64Zeros(b *bytes.Buffer, n int) {
	line := strings.Repeat("A", 76) + "\r\n"
	groups := n / 3
	for range groups / 19 {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("AAAA", groups%19))
	switch n % 3 {
	case 1:
		b.WriteString("AA==")
	case 2:
		b.WriteString("AAA=")
	}
	b.WriteString("\r\n")
}

func TestParse_HugeSubject(t *testing.T) {
	subject := strings.Repeat("Help ", 200_000) // 1 MB, one folded header line
	raw := crlf(hdr + "Subject: " + subject + "\nMessage-ID: <huge-subject@customer.test>\n\nbody\n")
	in, err := Parse([]byte(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkValid(t, in)
	if n := utf8.RuneCountInString(in.Subject); n != maxSubjectChars || !strings.HasPrefix(in.Subject, "Help Help") {
		t.Errorf("subject of %d characters starting %q, want %d", n, in.Subject[:20], maxSubjectChars)
	}
	if in.From != "ann@customer.test" || in.Key != "huge-subject@customer.test" || in.Text != "body\n" {
		t.Errorf("From %q Key %q Text %q", in.From, in.Key, in.Text)
	}
}

func TestParse_AttachmentOverLimitIsTooLarge(t *testing.T) {
	const size = 11 << 20 // 11 MiB, over the default 10 MiB
	var b bytes.Buffer
	b.WriteString(crlf(hdr + "Subject: Big file\nMessage-ID: <big@customer.test>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nSee the file.\n--B\nContent-Type: application/octet-stream; name=\"disk.img\"\nContent-Transfer-Encoding: base64\n\n"))
	base64Zeros(&b, size)
	b.WriteString("--B--\r\n")
	in, err := Parse(b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInbound(t, b.Bytes(), in, err, want{key: "big@customer.test", from: "ann@customer.test", text: "See the file.", hasDate: true,
		files: []file{{name: "disk.img", typ: "application/octet-stream", size: size, tooLarge: true}}})
}

func TestParse_DecompressionBombIsCountedNotHeld(t *testing.T) {
	const size = 50 << 20 // 50 MiB of zeros, 67 MB of base64
	const limit = 1 << 20
	var b bytes.Buffer
	b.Grow(size/3*4*78/76 + 1024)
	b.WriteString(crlf(hdr + "Subject: Zeros\nMessage-ID: <bomb@customer.test>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nzeros\n--B\nContent-Type: application/octet-stream; name=\"zeros.bin\"\nContent-Transfer-Encoding: base64\n\n"))
	base64Zeros(&b, size)
	b.WriteString("--B--\r\n")
	raw := b.Bytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	in, err := Parse(raw, Options{MaxAttachmentBytes: limit})
	runtime.ReadMemStats(&after)
	checkInbound(t, raw, in, err, want{key: "bomb@customer.test", from: "ann@customer.test", text: "zeros", hasDate: true,
		files: []file{{name: "zeros.bin", typ: "application/octet-stream", size: size, tooLarge: true}}})
	// Everything Parse allocated, not only what it holds at the end: a few times the
	// limit for the buffer that finds the file too large, nothing near the 50 MiB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Parse allocated %d bytes in all", alloc)
	if alloc > 4*limit {
		t.Errorf("Parse allocated %d bytes for a %d-byte file over a %d-byte limit", alloc, size, limit)
	}
}

func TestParse_ThousandPartsStopAtMaxParts(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr + "Subject: Many parts\nMessage-ID: <many@customer.test>\nContent-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: text/plain\n\nThe text comes first.\n")
	for i := range 999 {
		fmt.Fprintf(&b, "--M\nContent-Type: application/octet-stream; name=\"f%d.bin\"\n\nfile %d\n", i, i)
	}
	b.WriteString("--M--\n")
	raw := []byte(crlf(b.String()))

	for _, tc := range []struct {
		opts  Options
		files int
	}{
		{Options{}, DefaultMaxParts - 2}, // the message itself and the text are parts too
		{Options{MaxParts: 5000}, 999},
	} {
		in, err := Parse(raw, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		checkValid(t, in)
		if len(in.Attachments) != tc.files || in.Text != "The text comes first." {
			t.Errorf("MaxParts %d: %d attachments, text %q; want %d", tc.opts.MaxParts, len(in.Attachments), in.Text, tc.files)
		}
		if last := in.Attachments[len(in.Attachments)-1]; last.Name != fmt.Sprintf("f%d.bin", tc.files-1) {
			t.Errorf("last attachment %q", last.Name)
		}
	}
}

func TestParse_DeepNestingStopsAtMaxDepth(t *testing.T) {
	const levels = 50
	var b strings.Builder
	b.WriteString(hdr + "Subject: Deep\nMessage-ID: <deep@customer.test>\nContent-Type: multipart/mixed; boundary=b0\n\n")
	for i := range levels {
		fmt.Fprintf(&b, "--b%d\nContent-Type: text/plain\n\nlevel %d\n--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i, i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\nContent-Type: image/png; name=deepest.png\n\npng\n--b%d--\n", levels, levels)
	for i := levels - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	raw := []byte(crlf(b.String()))

	in, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkValid(t, in)
	// Multiparts at depths 0…9 are read: the texts of levels 0…9, nothing deeper.
	if !strings.Contains(in.Text, "level 0") || !strings.Contains(in.Text, "level 9") || strings.Contains(in.Text, "level 10") {
		t.Errorf("Text = %q, want levels 0 to 9", in.Text)
	}
	if len(in.Attachments) != 0 {
		t.Errorf("%d attachments from below MaxDepth", len(in.Attachments))
	}
	in, err = Parse(raw, Options{MaxDepth: 100})
	if err != nil || !strings.Contains(in.Text, "level 49") || len(in.Attachments) != 1 {
		t.Errorf("MaxDepth 100: err %v, %d attachments, text has level 49: %v", err, len(in.Attachments), strings.Contains(in.Text, "level 49"))
	}
}

func TestParse_TextCappedAtMaxTextBytes(t *testing.T) {
	body := strings.Repeat("äöü ", 10_000) // 28 000 bytes
	raw := []byte(crlf(hdr + "Subject: Long\nMessage-ID: <long@customer.test>\nContent-Type: text/plain; charset=utf-8\n\n" + body))
	in, err := Parse(raw, Options{MaxTextBytes: 1001})
	if err != nil {
		t.Fatal(err)
	}
	checkValid(t, in)
	if len(in.Text) > 1001 || len(in.Text) < 995 || !strings.HasPrefix(body, in.Text) {
		t.Errorf("text of %d bytes, want at most 1001, cut between runes", len(in.Text))
	}
}
