package mail_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"helpdeskd/adapters/mail"
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
