package mail

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses a few typical mails of testdata/hostile (plain, HTML-only, an
// alternative, attachments, a DSN, a nested forward) and a 4 MiB base64 attachment.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{
		"plain.eml", "html-only.eml", "alternative-html-first.eml", "lf-only.eml",
		"filename-rfc2231-continuation.eml", "dsn-our-notification.eml", "nested-rfc822-three-deep.eml",
		"split-text-around-image.eml",
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) { benchParse(b, raw) })
	}
	// The cost per byte of the multipart and base64 readers.
	var big bytes.Buffer
	big.WriteString(crlf(hdr + "Subject: Big file\nMessage-ID: <big@customer.test>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nSee the file.\n--B\nContent-Type: application/octet-stream; name=\"disk.img\"\nContent-Transfer-Encoding: base64\n\n"))
	base64Zeros(&big, 4<<20)
	big.WriteString("--B--\r\n")
	b.Run("base64-4MiB", func(b *testing.B) { benchParse(b, big.Bytes()) })
}

func benchParse(b *testing.B, raw []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
