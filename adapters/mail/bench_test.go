package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// BenchmarkInbound is the in-process inbound path per mail: Parse (reply extraction
// included) and the pipeline applying it as a reply over a real database, one mail at a
// time and, as the poller hands a fetched batch to its workers, eight at once on eight
// tickets (the writer commits them together). The IMAP fetch and the move are not in it
// (cmd/helpdeskd-bench -imap measures those).
func BenchmarkInbound(b *testing.B) {
	b.Run("serial", func(b *testing.B) { benchInbound(b, 1) })
	b.Run("8-workers", func(b *testing.B) { benchInbound(b, 8) })
}

func benchInbound(b *testing.B, workers int) {
	d := newDesk(b)
	var tickets []int64
	for range workers {
		tickets = append(tickets, d.ticket(b))
	}
	body := []byte(strings.Repeat("The site answers 502 since the update; the log says the upstream timed out.\r\n", 6) +
		"\r\nThanks,\r\nAnn\r\n\r\nOn Mon, Nov 30, 2026 at 9:00 AM Support <support@helpdesk.test> wrote:\r\n" +
		strings.Repeat("> We have restarted the service; please check again and tell us what you see.\r\n", 20))
	raws := make([][]byte, b.N)
	for i := range raws {
		raws[i] = d.plainReply(tickets[i%workers], body)
	}
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				in, err := mail.Parse(raws[i], d.opts)
				if err == nil {
					_, err = d.p.Ingest(ctx, in)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}

// BenchmarkRawMail is the daemon's handler per mail for an everyday 1 MB mail (a 700 KiB
// attachment and some text): the raw mail kept, ParseReader with the attachment staged, the
// pipeline opening a ticket. Each mail is a new one (its own Message-ID).
func BenchmarkRawMail(b *testing.B) {
	d := newDesk(b)
	h := &gateway.RawMail{Blobs: d.db.Blobs(), Pipeline: d.p,
		Parse: func(raw io.ReaderAt, size int64, stage gateway.StageFunc) (gateway.Inbound, error) {
			opts := d.opts
			opts.Stage = stage
			return mail.ParseReader(raw, size, opts)
		}}
	file := make([]byte, 700<<10)
	for i := range file {
		file[i] = byte(i * 7)
	}
	attachment := base64.StdEncoding.EncodeToString(file)
	var m bytes.Buffer
	fmt.Fprintf(&m, "From: Ann <%s>\r\nTo: %s\r\nSubject: Logs\r\nMessage-ID: <rawmail-00000000@customer.test>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"+
		"The logs of this morning are attached.\r\n--B\r\nContent-Type: application/octet-stream; name=\"app.log\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", deskCustomer, deskSupport)
	for s := attachment; len(s) > 0; s = s[min(76, len(s)):] {
		m.WriteString(s[:min(76, len(s))] + "\r\n")
	}
	m.WriteString("--B--\r\n")
	raw := m.Bytes()
	id := bytes.Index(raw, []byte("00000000@"))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; b.Loop(); i++ {
		copy(raw[id:], fmt.Sprintf("%08d", i)) // a new mail each time, not a duplicate
		failed, reason, err := h.Apply(ctx, bytes.NewReader(raw), int64(len(raw)))
		if err != nil || failed {
			b.Fatal(reason, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}
