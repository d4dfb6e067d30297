package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdeskd/adapters/imap"
	"github.com/helpdeskd/helpdeskd/adapters/mail"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

// mailServer is the IMAP server of the email cells (plain IMAP: a loopback test server).
type mailServer struct {
	addr, user, password string
}

// emailRows measures ingest end to end from a real IMAP server: mails wait in a mailbox of
// the run's own, the poller fetches, parses, applies and moves them, with the daemon's
// pipeline over a fresh database; then single mails with the poller in IDLE, timed from the
// APPEND to the commit of their ticket.
func emailRows(ctx context.Context, srv mailServer, dir string, mails, pings int, progress func(string, ...any)) ([]row, error) {
	host, portText, err := net.SplitHostPort(srv.addr)
	if err != nil {
		return nil, fmt.Errorf("-imap %q: %w", srv.addr, err)
	}
	port, _ := strconv.Atoi(portText)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "email", "helpdeskd.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	if _, err := svc.PutAccount(ctx, sys, core.Account{ID: 1, Name: "Bench"}); err != nil {
		return nil, err
	}
	const sender = "customer@bench.example"
	if _, err := svc.PutUser(ctx, sys, core.User{ID: 1, Email: sender, Name: "Customer", AccountIDs: []int64{1}}); err != nil {
		return nil, err
	}
	raw := &gateway.RawMail{
		Blobs:    db.Blobs(),
		Pipeline: gateway.NewPipeline(svc, db, gateway.PipelineOptions{Address: "support@bench.example"}),
		Parse: func(raw io.ReaderAt, size int64, stage gateway.StageFunc) (gateway.Inbound, error) {
			return mail.ParseReader(raw, size, mail.Options{Stage: stage})
		},
	}
	box := fmt.Sprintf("helpdeskd-bench-%d", time.Now().UnixNano())
	c, err := imapclient.DialInsecure(srv.addr, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", srv.addr, err)
	}
	defer c.Close()
	if err := c.Login(srv.user, srv.password).Wait(); err != nil {
		return nil, fmt.Errorf("log in to %s: %w", srv.addr, err)
	}
	defer func() {
		for _, b := range []string{box, box + "-processed", box + "-failed"} {
			c.Delete(b).Wait()
		}
	}()
	if err := c.Create(box, nil).Wait(); err != nil {
		return nil, fmt.Errorf("create %s: %w", box, err)
	}
	appendMail := func(i int) error {
		msg := fmt.Sprintf("From: %s\r\nTo: support@bench.example\r\nSubject: Bench mail %d\r\nMessage-ID: <bench-%d-%s@bench.example>\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nthe site answers 502 on every other request since this morning.\r\n",
			sender, i, i, box)
		cmd := c.Append(box, int64(len(msg)), nil)
		if _, err := cmd.Write([]byte(msg)); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	}
	progress("email: appending %d mails to %s", mails, box)
	for i := 0; i < mails; i++ {
		if err := appendMail(i); err != nil {
			return nil, fmt.Errorf("append: %w", err)
		}
	}
	count := func() int {
		var n int
		db.Read(ctx, func(tx core.ReadTx) (err error) {
			_, n, err = tx.Tickets(ctx, core.TicketFilter{AccountID: 1, Page: core.Page{Number: 1, Size: 1}})
			return err
		})
		return n
	}
	poller := imap.New(imap.Options{Host: host, Port: port, Security: imap.SecurityNone, Username: srv.user, Password: srv.password,
		Mailbox: box, ProcessedMailbox: box + "-processed", FailedMailbox: box + "-failed",
		IDLE: true, PollInterval: time.Hour, Workers: 8},
		imap.HandlerFunc(func(ctx context.Context, m imap.Mail) (imap.Disposition, string, error) {
			failed, reason, err := raw.Apply(ctx, m.Raw, m.Size)
			if failed {
				return imap.Failed, reason, err
			}
			return imap.Processed, "", err
		}))
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	progress("email: ingesting")
	start := time.Now()
	go func() { done <- poller.Run(pctx) }()
	defer func() { stop(); <-done }()
	deadline := start.Add(5 * time.Minute)
	for count() < mails {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("email ingest: %d of %d mails after 5 minutes", count(), mails)
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	ingest := row{Kind: "email", What: "email ingest from IMAP: fetch, parse, pipeline, store, move (8 workers)",
		Ops: mails, Unit: "mails", PerSecond: float64(mails) / elapsed.Seconds(), total: mails}

	progress("email: %d single mails with the poller in IDLE", pings)
	time.Sleep(time.Second) // the last moves, then IDLE
	var lat []time.Duration
	for i := 0; i < pings; i++ {
		before := count()
		if err := appendMail(mails + i); err != nil {
			return nil, err
		}
		t0 := time.Now()
		for count() == before {
			if time.Since(t0) > time.Minute {
				return nil, fmt.Errorf("a mail was not ingested within a minute")
			}
			time.Sleep(500 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(100 * time.Millisecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	idle := row{Kind: "email", What: "mailbox → ticket with IMAP IDLE (APPEND to commit)", Ops: pings, Unit: "mails",
		P50Ms: ms(lat[len(lat)/2]), P99Ms: ms(lat[(len(lat)-1)*99/100]), total: pings}
	return []row{ingest, idle}, nil
}
