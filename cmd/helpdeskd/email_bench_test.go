package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/imap/imaptest"
	"github.com/helpdeskd/helpdeskd/adapters/smtp/smtptest"
	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// ticketCount is the number of tickets of account 1, read through the daemon's store.
func (d *desk) ticketCount(tb testing.TB) int {
	var total int
	err := d.m.DB.Read(context.Background(), func(tx core.ReadTx) error {
		var err error
		_, total, err = tx.Tickets(context.Background(), core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 1}})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return total
}

// BenchmarkEmailIngest measures end-to-end ingest from the real Dovecot: b.N mails wait in
// the support mailbox, the daemon starts, and the clock runs until every one is a ticket
// and has been moved to the processed mailbox (fetch, parse, dedupe, thread, store, move);
// mails+notifications/s runs the clock on until the notifications they caused are sent too.
// to=postfix sends them to the loopback Postfix, which delivers them into the same Dovecot
// on the same cores and disk; to=sink to an SMTP server in process that accepts and keeps
// nothing, so the daemon's own rate shows apart from the mail stack's.
func BenchmarkEmailIngest(b *testing.B) {
	// The collector's target helpdeskd runs with (main calls config.TuneGC; Run does not).
	defer debug.SetGCPercent(debug.SetGCPercent(config.GCPercent))
	s := imaptest.Env(b)
	sink, err := smtptest.StartSink()
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	for _, to := range []struct{ name, addr string }{{"postfix", s.SMTPAddr}, {"sink", sink.Addr()}} {
		b.Run("to="+to.name, func(b *testing.B) { benchIngest(b, s, to.addr) })
	}
}

func benchIngest(b *testing.B, s imaptest.Server, smtpAddr string) {
	resetMailboxes(b, s)
	cat, support := s.Address("cat"), s.Address("support")
	run := time.Now().UnixNano()
	raws := make([][]byte, b.N)
	for i := range raws {
		raws[i] = compose(cat, support, fmt.Sprintf("Ingest %d", i), fmt.Sprintf("ingest-%d-%d@cat.helpdesk.test", i, run),
			"Hello,\n\nthe site answers 502 on every other request since this morning.\n\nRegards,\nCat")
	}
	imaptest.AppendAll(b, s, "support", "INBOX", raws)
	cfg := emailConfig(b, s, b.TempDir(), smtpAddr)
	cfg.Log.Level = "warn"
	b.ResetTimer()
	start := time.Now()
	d := startDesk(b, cfg)
	provisionMail(b, d, s)
	processed := imaptest.NewCounter(b, s, "support", "helpdesk/processed")
	for processed.Count() < b.N {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	// The confirmations and staff alerts the mails caused go out meanwhile; the daemon's whole
	// work is done when the outbox is empty too.
	staff, err := d.m.Service.UserByEmail(context.Background(), s.Address("staff"))
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		pending, err := d.m.Service.Notifications(context.Background(), core.Actor{User: staff, Channel: core.ChannelAPI}, core.NotificationPending, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the outbox did not empty within 10 minutes")
		}
	}
	all := time.Since(start)
	b.StopTimer()
	if n := d.ticketCount(b); n != b.N {
		b.Fatalf("%d tickets for %d mails", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(b.N)/all.Seconds(), "mails+notifications/s")
}

// BenchmarkEmailIDLELatency measures how long a mail takes from landing in the mailbox
// (APPEND returned) to its ticket being committed, with the daemon idle in IMAP IDLE.
func BenchmarkEmailIDLELatency(b *testing.B) {
	s := imaptest.Env(b)
	resetMailboxes(b, s)
	cfg := emailConfig(b, s, b.TempDir(), s.SMTPAddr)
	cfg.Log.Level = "warn"
	cfg.Email.IMAP.PollInterval.Duration = time.Hour // only IDLE can find the mail
	d := startDesk(b, cfg)
	provisionMail(b, d, s)
	cat, support := s.Address("cat"), s.Address("support")
	run := time.Now().UnixNano()
	var lat []time.Duration
	time.Sleep(500 * time.Millisecond) // let the poller reach IDLE
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := d.ticketCount(b)
		raw := compose(cat, support, fmt.Sprintf("Latency %d", i), fmt.Sprintf("lat-%d-%d@cat.helpdesk.test", i, run), "ping")
		imaptest.Append(b, s, "support", "INBOX", raw)
		t0 := time.Now()
		for d.ticketCount(b) == before {
			time.Sleep(500 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(50 * time.Millisecond) // let the poller move the mail and go back to IDLE
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
